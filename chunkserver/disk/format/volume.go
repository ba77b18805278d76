package format

// Encoding of volume files and their records (drawn in doc.go).

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
	VolHeaderSize = 64 // bytes of a volume file's header
	RecHeaderSize = 48 // bytes of a record's header
	VolumeExt     = ".vol"

	KindChunk = 1 // a record holding a chunk's data
	KindTomb  = 2 // a tombstone: the named record is deleted
	KindVoid  = 3 // a record whose write failed, or padding: skipped by the scan
	KindEnd   = 4 // the volume's last record, written when it is closed
)

var (
	volMagic = [8]byte{'G', 'R', 'N', 'V', 'O', 'L', 'U', 'M'}
	recMagic = [4]byte{'G', 'R', 'N', 'R'}
)

// RecordSize is the length of a record holding n data bytes (0 for a
// tombstone): header, block CRCs, their CRC, then the data.
func RecordSize(n int64) int64 { return RecHeaderSize + CRCSize*NumBlocks(n) + CRCSize + n }

// RecordPrefix is the length of a record's header and checksums, that is
// the offset of its data from the record's start.
func RecordPrefix(n int64) int64 { return RecordSize(n) - n }

// VolumeName is the file name of volume seq; ParseVolumeName inverts it.
func VolumeName(seq uint64) string { return fmt.Sprintf("%0*x%s", HexLen, seq, VolumeExt) }

func ParseVolumeName(name string) (uint64, bool) {
	if len(name) != HexLen+len(VolumeExt) {
		return 0, false
	}
	seq, err := strconv.ParseUint(name[:HexLen], 16, 64)
	if err != nil || VolumeName(seq) != name || seq == 0 {
		return 0, false
	}
	return seq, true
}

// EncodeVolumeHeader returns the header of volume seq.
func EncodeVolumeHeader(seq uint64) []byte {
	h := make([]byte, VolHeaderSize)
	copy(h, volMagic[:])
	binary.LittleEndian.PutUint16(h[8:], Version)
	h[10] = AlgoCRC32C
	binary.LittleEndian.PutUint32(h[12:], BlockSize)
	binary.LittleEndian.PutUint64(h[16:], seq)
	binary.LittleEndian.PutUint32(h[60:], crc32.Checksum(h[:60], Castagnoli))
	return h
}

// DecodeVolumeHeader checks the header of the volume file named for seq.
// Every failure wraps ErrCorrupt; an unknown version wraps ErrUnsupported.
func DecodeVolumeHeader(h []byte, seq uint64) error {
	if len(h) != VolHeaderSize || !bytes.Equal(h[:8], volMagic[:]) {
		return fmt.Errorf("bad volume magic: %w", ErrCorrupt)
	}
	if crc32.Checksum(h[:60], Castagnoli) != binary.LittleEndian.Uint32(h[60:]) {
		return fmt.Errorf("volume header checksum mismatch: %w", ErrCorrupt)
	}
	if binary.LittleEndian.Uint16(h[8:]) != Version || h[10] != AlgoCRC32C {
		return fmt.Errorf("volume version %d algorithm %d: %w",
			binary.LittleEndian.Uint16(h[8:]), h[10], ErrUnsupported)
	}
	if h[11] != 0 || binary.LittleEndian.Uint32(h[12:]) != BlockSize ||
		!bytes.Equal(h[24:60], make([]byte, 36)) {
		return fmt.Errorf("bad volume header fields: %w", ErrCorrupt)
	}
	if got := binary.LittleEndian.Uint64(h[16:]); got != seq {
		return fmt.Errorf("volume header has sequence %d: %w", got, ErrCorrupt)
	}
	return nil
}

// RecHeader is a decoded record header.
type RecHeader struct {
	Kind      uint8
	ID        uint64
	N         int64  // data bytes (KindChunk, KindVoid)
	TargetVol uint64 // the deleted record's volume (KindTomb)
	TargetOff int64  // and its offset in that volume
}

// Size is the length of the whole record.
func (h RecHeader) Size() int64 { return RecordSize(h.N) }

// EncodeRecordHeader returns the header of a record.
func EncodeRecordHeader(r RecHeader) []byte {
	h := make([]byte, RecHeaderSize)
	copy(h, recMagic[:])
	h[4] = r.Kind
	binary.LittleEndian.PutUint64(h[8:], r.ID)
	binary.LittleEndian.PutUint64(h[16:], uint64(r.N))
	binary.LittleEndian.PutUint64(h[24:], r.TargetVol)
	binary.LittleEndian.PutUint64(h[32:], uint64(r.TargetOff))
	binary.LittleEndian.PutUint32(h[44:], crc32.Checksum(h[:44], Castagnoli))
	return h
}

// DecodeRecordHeader checks a record header. Every failure wraps
// ErrCorrupt.
func DecodeRecordHeader(h []byte) (RecHeader, error) {
	if len(h) < RecHeaderSize || !bytes.Equal(h[:4], recMagic[:]) {
		return RecHeader{}, fmt.Errorf("bad record magic: %w", ErrCorrupt)
	}
	h = h[:RecHeaderSize]
	if crc32.Checksum(h[:44], Castagnoli) != binary.LittleEndian.Uint32(h[44:]) {
		return RecHeader{}, fmt.Errorf("record header checksum mismatch: %w", ErrCorrupt)
	}
	r := RecHeader{
		Kind:      h[4],
		ID:        binary.LittleEndian.Uint64(h[8:]),
		N:         int64(binary.LittleEndian.Uint64(h[16:])),
		TargetVol: binary.LittleEndian.Uint64(h[24:]),
		TargetOff: int64(binary.LittleEndian.Uint64(h[32:])),
	}
	if h[5] != 0 || h[6] != 0 || h[7] != 0 || !bytes.Equal(h[40:44], make([]byte, 4)) {
		return RecHeader{}, fmt.Errorf("bad record header fields: %w", ErrCorrupt)
	}
	switch {
	case r.N < 0 || r.N > MaxDataLen:
		return RecHeader{}, fmt.Errorf("record data length %d: %w", r.N, ErrCorrupt)
	case r.Kind == KindTomb && (r.N != 0 || r.TargetVol == 0 || r.TargetOff < VolHeaderSize):
		return RecHeader{}, fmt.Errorf("bad tombstone: %w", ErrCorrupt)
	case r.Kind != KindTomb && (r.TargetVol != 0 || r.TargetOff != 0):
		return RecHeader{}, fmt.Errorf("bad record target: %w", ErrCorrupt)
	case r.Kind == KindEnd && r.N != 0:
		return RecHeader{}, fmt.Errorf("bad end record: %w", ErrCorrupt)
	case r.Kind != KindChunk && r.Kind != KindTomb && r.Kind != KindVoid && r.Kind != KindEnd:
		return RecHeader{}, fmt.Errorf("record kind %d: %w", r.Kind, ErrCorrupt)
	}
	return r, nil
}

// EncodeTombstone returns the whole tombstone record of chunk id stored at
// offset off of volume vol.
func EncodeTombstone(id, vol uint64, off int64) []byte {
	h := EncodeRecordHeader(RecHeader{Kind: KindTomb, ID: id, TargetVol: vol, TargetOff: off})
	return append(h, EncodeTrailer(h, nil)...)
}

// EncodeEnd returns the record that closes a volume.
func EncodeEnd() []byte {
	h := EncodeRecordHeader(RecHeader{Kind: KindEnd})
	return append(h, EncodeTrailer(h, nil)...)
}

// EncodeRecord returns the whole record of chunk id holding data.
func EncodeRecord(id uint64, data []byte) []byte {
	var crcs []uint32
	for p := data; len(p) > 0; p = p[min(BlockSize, len(p)):] {
		crcs = append(crcs, crc32.Checksum(p[:min(BlockSize, len(p))], Castagnoli))
	}
	h := EncodeRecordHeader(RecHeader{Kind: KindChunk, ID: id, N: int64(len(data))})
	rec := append(h, EncodeTrailer(h, crcs)...)
	return append(rec, data...)
}

// VoidHeader returns the header that replaces a record of n data bytes
// whose write failed: same length, so the scan skips it, and never a chunk.
func VoidHeader(id uint64, n int64) []byte {
	return EncodeRecordHeader(RecHeader{Kind: KindVoid, ID: id, N: n})
}

// PadRecord returns a void record of exactly n bytes, which fills a gap
// before or after a record aligned for direct I/O: its header, then zeros
// (the scan skips a void's body unread). ok is false for the lengths no
// record has: 1..51 and 53..56.
func PadRecord(n int64) (rec []byte, ok bool) {
	if !PadFits(n) {
		return nil, false
	}
	var data int64
	if n > RecordSize(0) {
		data = n - RecordPrefix(1)
	}
	rec = make([]byte, n)
	copy(rec, VoidHeader(0, data))
	return rec, true
}

// PadFits reports whether a void record of exactly n bytes exists, for n
// up to a record of one block: 52 bytes (no data), or 57 and more.
func PadFits(n int64) bool {
	return n == RecordSize(0) || n >= RecordSize(1) && n <= RecordSize(BlockSize)
}

// ReadRecordHead reads and checks the header and checksums of the record
// at off in f, which ends at size. It returns the header and the block
// CRCs (checked against their CRC; none for a void record).
func ReadRecordHead(f io.ReaderAt, off, size int64) (RecHeader, []byte, []uint32, error) {
	if size-off < RecHeaderSize {
		return RecHeader{}, nil, nil, fmt.Errorf("record header past the end: %w", ErrCorrupt)
	}
	// One read covers the header and the CRCs of a record up to 1 MiB.
	buf := make([]byte, min(size-off, RecHeaderSize+CRCSize*17))
	if err := ReadFull(f, buf, off); err != nil {
		return RecHeader{}, nil, nil, err
	}
	h, err := DecodeRecordHeader(buf)
	if err != nil {
		return RecHeader{}, nil, nil, err
	}
	if h.Size() > size-off {
		return h, nil, nil, fmt.Errorf("record of %d bytes at %d passes the end %d: %w", h.Size(), off, size, ErrCorrupt)
	}
	if h.Kind == KindVoid {
		return h, buf[:RecHeaderSize], nil, nil
	}
	t := make([]byte, CRCSize*NumBlocks(h.N)+CRCSize)
	if int64(len(buf)) >= RecHeaderSize+int64(len(t)) {
		copy(t, buf[RecHeaderSize:])
	} else if err := ReadFull(f, t, off+RecHeaderSize); err != nil {
		return h, nil, nil, err
	}
	hb := buf[:RecHeaderSize:RecHeaderSize]
	crcs, err := DecodeTrailer(hb, t)
	if err != nil {
		return h, nil, nil, err
	}
	return h, hb, crcs, nil
}

// Scan is what ScanVolume finds in a volume file.
type Scan struct {
	End   int64 // end of the last good record: the walk stopped there
	Stop  error // why it stopped before the file's end, if it did
	Ended bool  // the file ends with the end record: the volume was closed
}

// ScanVolume checks the header of volume seq in r, a file of size bytes,
// and walks every record from the first on, until the end or the first
// record that fails its checks (a torn tail, or damage), calling fn with
// the offset and header of each record that passes. A header that fails
// wraps ErrCorrupt; other errors are I/O errors, and then the walk found
// nothing certain.
func ScanVolume(r io.ReaderAt, size int64, seq uint64, fn func(off int64, h RecHeader)) (Scan, error) {
	var sc Scan
	h := make([]byte, VolHeaderSize)
	if err := ReadFull(r, h, 0); err != nil {
		return sc, err
	}
	if err := DecodeVolumeHeader(h, seq); err != nil {
		return sc, err
	}
	// A closed volume ends with its end record: then a record that fails
	// before it is damage, not a torn tail.
	endLen := int64(len(EncodeEnd()))
	if size >= VolHeaderSize+endLen {
		rh, _, _, err := ReadRecordHead(r, size-endLen, size)
		if err != nil && !errors.Is(err, ErrCorrupt) {
			return sc, err // unreadable, maybe not for good: decide nothing
		}
		sc.Ended = err == nil && rh.Kind == KindEnd
	}
	off := int64(VolHeaderSize)
	for off < size {
		rh, _, _, err := ReadRecordHead(r, off, size)
		if err == nil && rh.Kind == KindEnd && off+endLen != size {
			err = fmt.Errorf("end record before the end of the file: %w", ErrCorrupt)
		}
		if err != nil && !errors.Is(err, ErrCorrupt) {
			return sc, fmt.Errorf("record at %d: %w", off, err)
		}
		if err != nil {
			sc.Stop = fmt.Errorf("record at %d: %w", off, err)
			break
		}
		fn(off, rh)
		off += rh.Size()
	}
	sc.End = off
	return sc, nil
}
