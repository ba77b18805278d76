package disk

// Encoding of volume files and their records (drawn in format.go).

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strconv"
)

const (
	volHeaderSize = 64 // bytes of a volume file's header
	recHeaderSize = 48 // bytes of a record's header
	volumeExt     = ".vol"

	kindChunk = 1 // a record holding a chunk's data
	kindTomb  = 2 // a tombstone: the named record is deleted
	kindVoid  = 3 // a record whose write failed: skipped by the scan
	kindEnd   = 4 // the volume's last record, written when it is closed
)

var (
	volMagic = [8]byte{'G', 'R', 'N', 'V', 'O', 'L', 'U', 'M'}
	recMagic = [4]byte{'G', 'R', 'N', 'R'}
)

// recordSize is the length of a record holding n data bytes (0 for a
// tombstone): header, block CRCs, their CRC, then the data.
func recordSize(n int64) int64 { return recHeaderSize + crcSize*numBlocks(n) + crcSize + n }

// recordPrefix is the length of a record's header and checksums, that is
// the offset of its data from the record's start.
func recordPrefix(n int64) int64 { return recordSize(n) - n }

// volumeName is the file name of volume seq; parseVolumeName inverts it.
func volumeName(seq uint64) string { return fmt.Sprintf("%0*x%s", hexLen, seq, volumeExt) }

func parseVolumeName(name string) (uint64, bool) {
	if len(name) != hexLen+len(volumeExt) {
		return 0, false
	}
	seq, err := strconv.ParseUint(name[:hexLen], 16, 64)
	if err != nil || volumeName(seq) != name || seq == 0 {
		return 0, false
	}
	return seq, true
}

// encodeVolumeHeader returns the header of volume seq.
func encodeVolumeHeader(seq uint64) []byte {
	h := make([]byte, volHeaderSize)
	copy(h, volMagic[:])
	binary.LittleEndian.PutUint16(h[8:], formatVersion)
	h[10] = algoCRC32C
	binary.LittleEndian.PutUint32(h[12:], blockSize)
	binary.LittleEndian.PutUint64(h[16:], seq)
	binary.LittleEndian.PutUint32(h[60:], crc32.Checksum(h[:60], castagnoli))
	return h
}

// decodeVolumeHeader checks the header of the volume file named for seq.
// Every failure wraps ErrCorrupt; an unknown version wraps errUnsupported.
func decodeVolumeHeader(h []byte, seq uint64) error {
	if len(h) != volHeaderSize || !bytes.Equal(h[:8], volMagic[:]) {
		return fmt.Errorf("bad volume magic: %w", ErrCorrupt)
	}
	if crc32.Checksum(h[:60], castagnoli) != binary.LittleEndian.Uint32(h[60:]) {
		return fmt.Errorf("volume header checksum mismatch: %w", ErrCorrupt)
	}
	if binary.LittleEndian.Uint16(h[8:]) != formatVersion || h[10] != algoCRC32C {
		return fmt.Errorf("volume version %d algorithm %d: %w",
			binary.LittleEndian.Uint16(h[8:]), h[10], errUnsupported)
	}
	if h[11] != 0 || binary.LittleEndian.Uint32(h[12:]) != blockSize ||
		!bytes.Equal(h[24:60], make([]byte, 36)) {
		return fmt.Errorf("bad volume header fields: %w", ErrCorrupt)
	}
	if got := binary.LittleEndian.Uint64(h[16:]); got != seq {
		return fmt.Errorf("volume header has sequence %d: %w", got, ErrCorrupt)
	}
	return nil
}

// recHeader is a decoded record header.
type recHeader struct {
	kind      uint8
	id        uint64
	n         int64  // data bytes (kindChunk, kindVoid)
	targetVol uint64 // the deleted record's volume (kindTomb)
	targetOff int64  // and its offset in that volume
}

// size is the length of the whole record.
func (h recHeader) size() int64 { return recordSize(h.n) }

// encodeRecordHeader returns the header of a record.
func encodeRecordHeader(r recHeader) []byte {
	h := make([]byte, recHeaderSize)
	copy(h, recMagic[:])
	h[4] = r.kind
	binary.LittleEndian.PutUint64(h[8:], r.id)
	binary.LittleEndian.PutUint64(h[16:], uint64(r.n))
	binary.LittleEndian.PutUint64(h[24:], r.targetVol)
	binary.LittleEndian.PutUint64(h[32:], uint64(r.targetOff))
	binary.LittleEndian.PutUint32(h[44:], crc32.Checksum(h[:44], castagnoli))
	return h
}

// decodeRecordHeader checks a record header. Every failure wraps
// ErrCorrupt.
func decodeRecordHeader(h []byte) (recHeader, error) {
	if len(h) < recHeaderSize || !bytes.Equal(h[:4], recMagic[:]) {
		return recHeader{}, fmt.Errorf("bad record magic: %w", ErrCorrupt)
	}
	h = h[:recHeaderSize]
	if crc32.Checksum(h[:44], castagnoli) != binary.LittleEndian.Uint32(h[44:]) {
		return recHeader{}, fmt.Errorf("record header checksum mismatch: %w", ErrCorrupt)
	}
	r := recHeader{
		kind:      h[4],
		id:        binary.LittleEndian.Uint64(h[8:]),
		n:         int64(binary.LittleEndian.Uint64(h[16:])),
		targetVol: binary.LittleEndian.Uint64(h[24:]),
		targetOff: int64(binary.LittleEndian.Uint64(h[32:])),
	}
	if h[5] != 0 || h[6] != 0 || h[7] != 0 || !bytes.Equal(h[40:44], make([]byte, 4)) {
		return recHeader{}, fmt.Errorf("bad record header fields: %w", ErrCorrupt)
	}
	switch {
	case r.n < 0 || r.n > maxDataLen:
		return recHeader{}, fmt.Errorf("record data length %d: %w", r.n, ErrCorrupt)
	case r.kind == kindTomb && (r.n != 0 || r.targetVol == 0 || r.targetOff < volHeaderSize):
		return recHeader{}, fmt.Errorf("bad tombstone: %w", ErrCorrupt)
	case r.kind != kindTomb && (r.targetVol != 0 || r.targetOff != 0):
		return recHeader{}, fmt.Errorf("bad record target: %w", ErrCorrupt)
	case r.kind == kindEnd && r.n != 0:
		return recHeader{}, fmt.Errorf("bad end record: %w", ErrCorrupt)
	case r.kind != kindChunk && r.kind != kindTomb && r.kind != kindVoid && r.kind != kindEnd:
		return recHeader{}, fmt.Errorf("record kind %d: %w", r.kind, ErrCorrupt)
	}
	return r, nil
}

// encodeTombstone returns the whole tombstone record of chunk id stored at
// offset off of volume vol.
func encodeTombstone(id, vol uint64, off int64) []byte {
	h := encodeRecordHeader(recHeader{kind: kindTomb, id: id, targetVol: vol, targetOff: off})
	return append(h, encodeTrailer(h, nil)...)
}

// encodeEnd returns the record that closes a volume.
func encodeEnd() []byte {
	h := encodeRecordHeader(recHeader{kind: kindEnd})
	return append(h, encodeTrailer(h, nil)...)
}

// encodeRecord returns the whole record of chunk id holding data.
func encodeRecord(id uint64, data []byte) []byte {
	var crcs []uint32
	for p := data; len(p) > 0; p = p[min(blockSize, len(p)):] {
		crcs = append(crcs, crc32.Checksum(p[:min(blockSize, len(p))], castagnoli))
	}
	h := encodeRecordHeader(recHeader{kind: kindChunk, id: id, n: int64(len(data))})
	rec := append(h, encodeTrailer(h, crcs)...)
	return append(rec, data...)
}

// voidHeader returns the header that replaces a record of n data bytes
// whose write failed: same length, so the scan skips it, and never a chunk.
func voidHeader(id uint64, n int64) []byte {
	return encodeRecordHeader(recHeader{kind: kindVoid, id: id, n: n})
}

// readRecordHead reads and checks the header and checksums of the record
// at off in f, which ends at size. It returns the header and the block
// CRCs (checked against their CRC; none for a void record).
func readRecordHead(f File, off, size int64) (recHeader, []byte, []uint32, error) {
	if size-off < recHeaderSize {
		return recHeader{}, nil, nil, fmt.Errorf("record header past the end: %w", ErrCorrupt)
	}
	// One read covers the header and the CRCs of a record up to 1 MiB.
	buf := make([]byte, min(size-off, recHeaderSize+crcSize*17))
	if err := readFull(f, buf, off); err != nil {
		return recHeader{}, nil, nil, err
	}
	h, err := decodeRecordHeader(buf)
	if err != nil {
		return recHeader{}, nil, nil, err
	}
	if h.size() > size-off {
		return h, nil, nil, fmt.Errorf("record of %d bytes at %d passes the end %d: %w", h.size(), off, size, ErrCorrupt)
	}
	if h.kind == kindVoid {
		return h, buf[:recHeaderSize], nil, nil
	}
	t := make([]byte, crcSize*numBlocks(h.n)+crcSize)
	if int64(len(buf)) >= recHeaderSize+int64(len(t)) {
		copy(t, buf[recHeaderSize:])
	} else if err := readFull(f, t, off+recHeaderSize); err != nil {
		return h, nil, nil, err
	}
	hb := buf[:recHeaderSize:recHeaderSize]
	crcs, err := decodeTrailer(hb, t)
	if err != nil {
		return h, nil, nil, err
	}
	return h, hb, crcs, nil
}
