package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
)

const (
	BlockSize  = 64 << 10 // data bytes per checksummed block
	HeaderSize = 64       // bytes of a chunk file's fixed header
	CRCSize    = 4        // bytes of one CRC32C
	Version    = 1        // the format version this code writes and reads
	AlgoCRC32C = 1        // checksum algorithm id for CRC32C
	MaxDataLen = 1 << 50  // sanity bound on a header's data length

	ChunkExt = ".chunk" // the extension of a chunk file's name
	HexLen   = 16       // hex digits of a chunk id or volume sequence in a file name
)

var (
	// ErrCorrupt reports that a chunk file failed a consistency check: a
	// block, header or trailer checksum mismatch, a bad magic number, or a
	// file length that does not match its header. The replica is bad and
	// must be replaced from another copy; retrying the read will not help.
	// disk.ErrCorrupt is this value.
	ErrCorrupt = errors.New("chunk corrupt")

	// ErrUnsupported marks a header whose checksum is valid but whose
	// format version or checksum algorithm this build does not know:
	// probably written by a newer release. It wraps ErrCorrupt for
	// readers, but the chunk store's start-up scan leaves such files in
	// place instead of quarantining them.
	ErrUnsupported = fmt.Errorf("unsupported chunk format: %w", ErrCorrupt)
)

var (
	magic = [8]byte{'G', 'R', 'N', 'C', 'H', 'U', 'N', 'K'}

	// Castagnoli is the CRC32C table of every checksum of the format.
	Castagnoli = crc32.MakeTable(crc32.Castagnoli)
)

// NumBlocks is the number of checksummed blocks of n data bytes.
func NumBlocks(n int64) int64 { return (n + BlockSize - 1) / BlockSize }

// FileSize is the length of a chunk file holding n data bytes.
func FileSize(n int64) int64 { return HeaderSize + n + CRCSize*NumBlocks(n) + CRCSize }

// ChunkName is the file name of chunk id.
func ChunkName(id uint64) string {
	return fmt.Sprintf("%0*x%s", HexLen, id, ChunkExt)
}

// ParseChunkName returns the id of a file named exactly ChunkName(id).
func ParseChunkName(name string) (uint64, bool) {
	if len(name) != HexLen+len(ChunkExt) {
		return 0, false
	}
	id, err := strconv.ParseUint(name[:HexLen], 16, 64)
	if err != nil || ChunkName(id) != name {
		return 0, false
	}
	return id, true
}

// EncodeHeader returns the header of chunk id holding n data bytes.
func EncodeHeader(id uint64, n int64) []byte {
	h := make([]byte, HeaderSize)
	copy(h, magic[:])
	binary.LittleEndian.PutUint16(h[8:], Version)
	h[10] = AlgoCRC32C
	binary.LittleEndian.PutUint32(h[12:], BlockSize)
	binary.LittleEndian.PutUint64(h[16:], id)
	binary.LittleEndian.PutUint64(h[24:], uint64(n))
	binary.LittleEndian.PutUint32(h[60:], crc32.Checksum(h[:60], Castagnoli))
	return h
}

// DecodeHeader checks a header read from the file of chunk id and returns
// its data length. Every failure wraps ErrCorrupt; an unknown version
// wraps ErrUnsupported.
func DecodeHeader(h []byte, id uint64) (int64, error) {
	if len(h) != HeaderSize || !bytes.Equal(h[:8], magic[:]) {
		return 0, fmt.Errorf("bad magic: %w", ErrCorrupt)
	}
	if crc32.Checksum(h[:60], Castagnoli) != binary.LittleEndian.Uint32(h[60:]) {
		return 0, fmt.Errorf("header checksum mismatch: %w", ErrCorrupt)
	}
	if binary.LittleEndian.Uint16(h[8:]) != Version || h[10] != AlgoCRC32C {
		return 0, fmt.Errorf("version %d algorithm %d: %w",
			binary.LittleEndian.Uint16(h[8:]), h[10], ErrUnsupported)
	}
	if h[11] != 0 || binary.LittleEndian.Uint32(h[12:]) != BlockSize ||
		!bytes.Equal(h[32:60], make([]byte, 28)) {
		return 0, fmt.Errorf("bad header fields: %w", ErrCorrupt)
	}
	if got := binary.LittleEndian.Uint64(h[16:]); got != id {
		return 0, fmt.Errorf("header has chunk id %d: %w", got, ErrCorrupt)
	}
	n := binary.LittleEndian.Uint64(h[24:])
	if n > MaxDataLen {
		return 0, fmt.Errorf("data length %d: %w", n, ErrCorrupt)
	}
	return int64(n), nil
}

// EncodeTrailer returns the trailer for a header and its block CRCs.
func EncodeTrailer(header []byte, crcs []uint32) []byte {
	t := make([]byte, 0, CRCSize*len(crcs)+CRCSize)
	for _, c := range crcs {
		t = binary.LittleEndian.AppendUint32(t, c)
	}
	sum := crc32.Update(crc32.Checksum(header, Castagnoli), Castagnoli, t)
	return binary.LittleEndian.AppendUint32(t, sum)
}

// DecodeTrailer checks a trailer against its header and returns the block
// CRCs. The caller has checked len(t) against the header's data length.
func DecodeTrailer(header, t []byte) ([]uint32, error) {
	body := t[:len(t)-CRCSize]
	sum := crc32.Update(crc32.Checksum(header, Castagnoli), Castagnoli, body)
	if sum != binary.LittleEndian.Uint32(t[len(body):]) {
		return nil, fmt.Errorf("trailer checksum mismatch: %w", ErrCorrupt)
	}
	crcs := make([]uint32, len(body)/CRCSize)
	for i := range crcs {
		crcs[i] = binary.LittleEndian.Uint32(body[CRCSize*i:])
	}
	return crcs, nil
}

// ReadFull reads len(p) bytes at off; a short file is corruption, since the
// caller has already checked the length the header promises.
func ReadFull(f io.ReaderAt, p []byte, off int64) error {
	n, err := f.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		return fmt.Errorf("file shorter than its header says: %w", ErrCorrupt)
	}
	return err
}
