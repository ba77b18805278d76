package disk

// On-disk format, version 1.
//
// Each dir in Config.Dirs holds (the code for the layout is in layout.go):
//
//	<dir>/chunks/<xx>/<id>.chunk      a committed chunk: <id> is the chunk id in
//	                                  16 lower-case hex digits, <xx> its low
//	                                  byte (256 fan-out dirs, made at Open)
//	<dir>/chunks/<xx>/<id>.chunk.tmp  a chunk being written; deleted at Open
//	<dir>/quarantine/<id>.chunk       a chunk that failed the check at Open
//	<dir>/volumes/<seq>.vol           a volume: packed chunks (Config.PackMax),
//	                                  <seq> its sequence number in 16 hex
//	                                  digits, from 1 up per data dir
//	<dir>/quarantine/<seq>.vol        a damaged volume, once compacted
//
// A chunk file holding n data bytes, cut into B = ceil(n / 64 KiB) blocks:
//
//	0           +----------------------------------------------------+
//	            | header, 64 bytes                                   |
//	            |    0  magic "GRNCHUNK"                  [8]byte    |
//	            |    8  format version = 1                uint16     |
//	            |   10  checksum algorithm = 1 (CRC32C)   uint8      |
//	            |   11  flags = 0                         uint8      |
//	            |   12  block size = 65536                uint32     |
//	            |   16  chunk id                          uint64     |
//	            |   24  data length n                     uint64     |
//	            |   32  reserved, zero                    [28]byte   |
//	            |   60  CRC32C of header bytes 0..59      uint32     |
//	64          +----------------------------------------------------+
//	            | data, n bytes: block 0 | block 1 | ... | block B-1 |
//	            | (64 KiB each; the last one may be shorter)         |
//	64+n        +----------------------------------------------------+
//	            | trailer, 4*B + 4 bytes                             |
//	            |    CRC32C of block 0 .. block B-1     B x uint32   |
//	            |    CRC32C of the 64 header bytes      uint32       |
//	            |    followed by the 4*B CRC bytes                   |
//	64+n+4*B+4  +----------------------------------------------------+
//
// A volume file (record code in record.go, appends in volume.go):
//
//	0           +----------------------------------------------------+
//	            | volume header, 64 bytes                            |
//	            |    0  magic "GRNVOLUM"                  [8]byte    |
//	            |    8  format version = 1                uint16     |
//	            |   10  checksum algorithm = 1 (CRC32C)   uint8      |
//	            |   11  flags = 0                         uint8      |
//	            |   12  block size = 65536                uint32     |
//	            |   16  volume sequence <seq>             uint64     |
//	            |   24  reserved, zero                    [36]byte   |
//	            |   60  CRC32C of header bytes 0..59      uint32     |
//	64          +----------------------------------------------------+
//	            | record | record | ... | record                     |
//	            | end record (once the volume is closed)             |
//	            +----------------------------------------------------+
//
// A record at offset r holding n data bytes in B = ceil(n / 64 KiB) blocks
// (n = 0 and B = 0 for a tombstone and the end record):
//
//	r           +----------------------------------------------------+
//	            | record header, 48 bytes                            |
//	            |    0  magic "GRNR"                      [4]byte    |
//	            |    4  kind: 1 chunk, 2 tombstone,       uint8      |
//	            |       3 void, 4 end                                |
//	            |    5  reserved, zero                    [3]byte    |
//	            |    8  chunk id (0 for end)              uint64     |
//	            |   16  data length n                     uint64     |
//	            |   24  tombstone: the deleted record's   uint64     |
//	            |       volume sequence, else 0                      |
//	            |   32  tombstone: its offset, else 0     uint64     |
//	            |   40  reserved, zero                    [4]byte    |
//	            |   44  CRC32C of header bytes 0..43      uint32     |
//	r+48        +----------------------------------------------------+
//	            | checksums, 4*B + 4 bytes: the chunk file trailer   |
//	            |    CRC32C of block 0 .. block B-1     B x uint32   |
//	            |    CRC32C of the 48 header bytes      uint32       |
//	            |    followed by the 4*B CRC bytes                   |
//	r+52+4*B    +----------------------------------------------------+
//	            | data, n bytes: block 0 | ... | block B-1          |
//	r+52+4*B+n  +----------------------------------------------------+
//
// A record is written whole by one pwrite at an offset reserved under a
// short lock, so writers fill a volume concurrently; Commit returns once
// an fsync that began after every record up to its own was written has
// returned (group commit: one fsync covers the records of many writers),
// so the durable part of a volume is always a prefix of it. A void record
// replaces (by its header alone) a record whose write or fsync failed: the
// scan skips its n-byte length. A tombstone deletes the record at (volume,
// offset) it names, not the id, so the id can be written again; a record
// that a later tombstone deletes also hides any older copy of its id (left
// by a compaction that did not finish). A volume is closed, when full,
// after a failure, or at Close, by its end record, which is always the
// file's last 52 bytes: a closed volume whose records fail a check before
// the end is damaged, and one without the end record was still open at a
// crash, so its torn tail is cut off at Open and the end record appended.
// Volumes found at Open are never appended to again. Compaction copies the
// live records and the tombstones whose target volume still exists,
// byte for byte, to the open volume, switches the index, and removes the
// old file.
//
// Why the checksums precede the data here: the chunk is whole in memory
// at Commit, so one pwrite places all of it, and the scan at Open reads a
// record's header and checksums with one small pread (for records up to
// 1 MiB) without touching the data.
//
// Integers are little-endian; CRC32C is CRC-32 with the Castagnoli
// polynomial. Why every flipped byte is caught: a header byte breaks the
// header CRC and a trailer byte the trailer CRC (Open fails); a data byte
// breaks its block's CRC (a read of that block fails). Truncation or
// appended bytes break the length rule above, and a file whose header id
// differs from the id in its name is rejected too; all with ErrCorrupt.
//
// Why a trailer rather than CRCs interleaved with the data: the data stays
// contiguous, so a byte's file offset is just 64 plus its chunk offset and a
// run of whole blocks is read with one pread straight into the caller's
// buffer. The price is that a writer keeps its block CRCs until Commit:
// 4 bytes per 64 KiB (4 KiB for a 64 MiB chunk), still bounded. A reader
// loads them once at Open, checked against the trailer CRC. The header,
// which holds the length, is written last (at Commit) by a pwrite at offset
// 0, so writers of unknown size stream too.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
)

const (
	blockSize     = 64 << 10 // data bytes per checksummed block
	headerSize    = 64       // bytes of the fixed header
	crcSize       = 4        // bytes of one CRC32C
	formatVersion = 1        // the version this code writes and reads
	algoCRC32C    = 1        // checksum algorithm id for CRC32C
	maxDataLen    = 1 << 50  // sanity bound on a header's data length
	maxPackMax    = 16 << 20 // bound on Config.PackMax: a packed chunk is buffered whole

	chunkExt = ".chunk"
	tempExt  = ".tmp"
	hexLen   = 16 // hex digits of a chunk id in a file name

	copyBlocks = 4 // blocks per buffer of ReadRange and Verify (256 KiB)
)

var (
	magic      = [8]byte{'G', 'R', 'N', 'C', 'H', 'U', 'N', 'K'}
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	blockPool  = sync.Pool{New: func() any { b := make([]byte, blockSize); return &b }}
	copyPool   = sync.Pool{New: func() any { b := make([]byte, copyBlocks*blockSize); return &b }}
	// writerPool holds the write buffers of chunk writers: a 256 KiB
	// buffer zeroed for every chunk was the largest allocation cost of
	// writing many small chunks.
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(io.Discard, copyBlocks*blockSize) }}
)

// numBlocks is the number of checksummed blocks of n data bytes.
func numBlocks(n int64) int64 { return (n + blockSize - 1) / blockSize }

// fileSize is the length of a chunk file holding n data bytes.
func fileSize(n int64) int64 { return headerSize + n + crcSize*numBlocks(n) + crcSize }

// encodeHeader returns the header of chunk id holding n data bytes.
func encodeHeader(id uint64, n int64) []byte {
	h := make([]byte, headerSize)
	copy(h, magic[:])
	binary.LittleEndian.PutUint16(h[8:], formatVersion)
	h[10] = algoCRC32C
	binary.LittleEndian.PutUint32(h[12:], blockSize)
	binary.LittleEndian.PutUint64(h[16:], id)
	binary.LittleEndian.PutUint64(h[24:], uint64(n))
	binary.LittleEndian.PutUint32(h[60:], crc32.Checksum(h[:60], castagnoli))
	return h
}

// decodeHeader checks a header read from the file of chunk id and returns
// its data length. Every failure wraps ErrCorrupt.
func decodeHeader(h []byte, id uint64) (int64, error) {
	if len(h) != headerSize || !bytes.Equal(h[:8], magic[:]) {
		return 0, fmt.Errorf("bad magic: %w", ErrCorrupt)
	}
	if crc32.Checksum(h[:60], castagnoli) != binary.LittleEndian.Uint32(h[60:]) {
		return 0, fmt.Errorf("header checksum mismatch: %w", ErrCorrupt)
	}
	if binary.LittleEndian.Uint16(h[8:]) != formatVersion || h[10] != algoCRC32C {
		return 0, fmt.Errorf("version %d algorithm %d: %w",
			binary.LittleEndian.Uint16(h[8:]), h[10], errUnsupported)
	}
	if h[11] != 0 || binary.LittleEndian.Uint32(h[12:]) != blockSize ||
		!bytes.Equal(h[32:60], make([]byte, 28)) {
		return 0, fmt.Errorf("bad header fields: %w", ErrCorrupt)
	}
	if got := binary.LittleEndian.Uint64(h[16:]); got != id {
		return 0, fmt.Errorf("header has chunk id %d: %w", got, ErrCorrupt)
	}
	n := binary.LittleEndian.Uint64(h[24:])
	if n > maxDataLen {
		return 0, fmt.Errorf("data length %d: %w", n, ErrCorrupt)
	}
	return int64(n), nil
}

// encodeTrailer returns the trailer for a header and its block CRCs.
func encodeTrailer(header []byte, crcs []uint32) []byte {
	t := make([]byte, 0, crcSize*len(crcs)+crcSize)
	for _, c := range crcs {
		t = binary.LittleEndian.AppendUint32(t, c)
	}
	sum := crc32.Update(crc32.Checksum(header, castagnoli), castagnoli, t)
	return binary.LittleEndian.AppendUint32(t, sum)
}

// decodeTrailer checks a trailer against its header and returns the block
// CRCs. The caller has checked len(t) against the header's data length.
func decodeTrailer(header, t []byte) ([]uint32, error) {
	body := t[:len(t)-crcSize]
	sum := crc32.Update(crc32.Checksum(header, castagnoli), castagnoli, body)
	if sum != binary.LittleEndian.Uint32(t[len(body):]) {
		return nil, fmt.Errorf("trailer checksum mismatch: %w", ErrCorrupt)
	}
	crcs := make([]uint32, len(body)/crcSize)
	for i := range crcs {
		crcs[i] = binary.LittleEndian.Uint32(body[crcSize*i:])
	}
	return crcs, nil
}

// readFull reads len(p) bytes at off; a short file is corruption, since the
// caller has already checked the length the header promises.
func readFull(f File, p []byte, off int64) error {
	n, err := f.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		return fmt.Errorf("file shorter than its header says: %w", ErrCorrupt)
	}
	return err
}

// checkHeader is the cheap check run on every chunk at Open: a valid header
// for id and a file length that agrees with it. It returns the header and
// the data length.
func checkHeader(f File, id uint64) ([]byte, int64, error) {
	h := make([]byte, headerSize)
	if err := readFull(f, h, 0); err != nil {
		return nil, 0, err
	}
	n, err := decodeHeader(h, id)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if fi.Size() != fileSize(n) {
		return nil, 0, fmt.Errorf("file length %d, header says %d: %w", fi.Size(), fileSize(n), ErrCorrupt)
	}
	return h, n, nil
}
