package raftlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"time"

	"github.com/hashicorp/raft"
)

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func checkHeader(b []byte, first uint64) error {
	if len(b) < headerSize {
		return fmt.Errorf("%d bytes, shorter than a header", len(b))
	}
	if string(b[:8]) != magic {
		return errors.New("no segment magic")
	}
	if crc32.Checksum(b[:24], castagnoli) != binary.LittleEndian.Uint32(b[24:]) {
		return errors.New("header checksum mismatch")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != version {
		return fmt.Errorf("format version %d, this build reads %d", v, version)
	}
	if got := binary.LittleEndian.Uint64(b[16:]); got != first {
		return fmt.Errorf("header says first index %d, name says %d", got, first)
	}
	return nil
}

func putHeader(b []byte, first uint64) {
	clear(b[:headerSize])
	copy(b, magic)
	binary.LittleEndian.PutUint32(b[8:], version)
	binary.LittleEndian.PutUint64(b[16:], first)
	binary.LittleEndian.PutUint32(b[24:], crc32.Checksum(b[:24], castagnoli))
}

// scanRecord checks the record at the start of b: its length, n (0 with
// a nil error at the zeros that end a segment), and its index.
func scanRecord(b []byte) (n int, index uint64, err error) {
	if len(b) < recordHeader {
		if allZero(b) {
			return 0, 0, nil
		}
		return 0, 0, errors.New("record header cut short")
	}
	size := binary.LittleEndian.Uint32(b)
	if size == 0 {
		if allZero(b[:recordHeader]) {
			return 0, 0, nil
		}
		return 0, 0, errors.New("empty record with a checksum")
	}
	if size < bodyFixed || int64(size) > int64(len(b)-recordHeader) {
		return 0, 0, fmt.Errorf("record length %d does not fit", size)
	}
	body := b[recordHeader : recordHeader+int(size)]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return 0, 0, errors.New("record checksum mismatch")
	}
	return recordHeader + int(size), binary.LittleEndian.Uint64(body), nil
}

// appendRecord encodes l onto b.
func appendRecord(b []byte, l *raft.Log) []byte {
	start := len(b)
	size := bodyFixed + len(l.Data) + len(l.Extensions)
	b = binary.LittleEndian.AppendUint32(b, uint32(size))
	b = binary.LittleEndian.AppendUint32(b, 0) // the crc, below
	b = binary.LittleEndian.AppendUint64(b, l.Index)
	b = binary.LittleEndian.AppendUint64(b, l.Term)
	b = append(b, byte(l.Type))
	var at int64
	if !l.AppendedAt.IsZero() {
		at = l.AppendedAt.UnixNano()
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(at))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(l.Data)))
	b = append(b, l.Data...)
	b = append(b, l.Extensions...)
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+recordHeader:], castagnoli))
	return b
}

// decodeRecord fills l from a whole record, checked.
func decodeRecord(b []byte, want uint64, l *raft.Log) error {
	n, idx, err := scanRecord(b)
	if err == nil && n != len(b) {
		err = fmt.Errorf("record is %d bytes, its slot %d", n, len(b))
	}
	if err == nil && idx != want {
		err = fmt.Errorf("record has index %d", idx)
	}
	if err != nil {
		return fmt.Errorf("%w: entry %d: %w", ErrCorrupt, want, err)
	}
	body := b[recordHeader:]
	dlen := binary.LittleEndian.Uint32(body[25:])
	if int64(dlen) > int64(len(body)-bodyFixed) {
		return fmt.Errorf("%w: entry %d: data length %d does not fit", ErrCorrupt, want, dlen)
	}
	l.Index = idx
	l.Term = binary.LittleEndian.Uint64(body[8:])
	l.Type = raft.LogType(body[16])
	l.AppendedAt = time.Time{}
	if at := int64(binary.LittleEndian.Uint64(body[17:])); at != 0 {
		l.AppendedAt = time.Unix(0, at)
	}
	rest := body[bodyFixed:]
	l.Data = nil
	if dlen > 0 {
		l.Data = slices.Clone(rest[:dlen])
	}
	l.Extensions = nil
	if ext := rest[dlen:]; len(ext) > 0 {
		l.Extensions = slices.Clone(ext)
	}
	return nil
}
