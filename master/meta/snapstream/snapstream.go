// Package snapstream is the byte format of the state machine's Raft
// snapshots: every key and value of the state as of one read
// transaction, framed and checksummed:
//
//	"GRSNAP01"                      8-byte magic and format version
//	applied index                   8 bytes, big endian
//	{ uvarint klen, key, uvarint vlen, value }*
//	uvarint 0                       end of records (keys are never empty)
//	CRC32C of everything above      4 bytes, big endian
//
// master/meta writes a stream from a Badger read transaction (Writer)
// and loads one into a fresh database (Reader); this package does no
// storage of its own.
package snapstream

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
)

// ErrCorrupt means a stream is not a snapshot of this format, or is
// damaged: a bad magic, an oversized record or a checksum mismatch.
var ErrCorrupt = errors.New("corrupt snapshot")

var magic = []byte("GRSNAP01")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// maxRecord bounds a key or value a Reader accepts.
const maxRecord = 64 << 20

// bufSize is the buffer of a Writer and a Reader.
const bufSize = 256 << 10

// Writer writes one stream. NewWriter buffers the header, Record each
// key and value (keys never empty), and Close ends the records and writes
// the checksum. Not safe for concurrent use.
type Writer struct {
	w      io.Writer
	crc    hash.Hash32
	bw     *bufio.Writer
	lenBuf []byte
}

// NewWriter starts a stream of the state at the applied index.
func NewWriter(w io.Writer, index uint64) *Writer {
	crc := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), bufSize)
	bw.Write(magic)
	bw.Write(binary.BigEndian.AppendUint64(nil, index))
	return &Writer{w: w, crc: crc, bw: bw}
}

// Record writes one key and value.
func (w *Writer) Record(key, val []byte) error {
	w.lenBuf = binary.AppendUvarint(w.lenBuf[:0], uint64(len(key)))
	w.bw.Write(w.lenBuf)
	w.bw.Write(key)
	w.lenBuf = binary.AppendUvarint(w.lenBuf[:0], uint64(len(val)))
	w.bw.Write(w.lenBuf)
	_, err := w.bw.Write(val)
	return err
}

// Close ends the records and writes the checksum; it does not close the
// underlying writer.
func (w *Writer) Close() error {
	w.bw.Write([]byte{0})
	if err := w.bw.Flush(); err != nil {
		return err
	}
	_, err := w.w.Write(binary.BigEndian.AppendUint32(nil, w.crc.Sum32()))
	return err
}

// Reader reads one stream: NewReader reads the header, Next each record,
// and Next's io.EOF comes only once the checksum matched. Not safe for
// concurrent use.
type Reader struct {
	br    *bufio.Reader
	crc   hash.Hash32
	r     io.Reader // br through crc
	bytes teeByteReader
	// Index is the applied index the stream holds the state of.
	Index uint64
}

// NewReader reads the header of the stream in rd.
func NewReader(rd io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(rd, bufSize)
	crc := crc32.New(castagnoli)
	r := io.TeeReader(br, crc)
	var head [16]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	if string(head[:8]) != string(magic) {
		return nil, fmt.Errorf("bad snapshot magic %q: %w", head[:8], ErrCorrupt)
	}
	return &Reader{br: br, crc: crc, r: r, bytes: teeByteReader{r: r}, Index: binary.BigEndian.Uint64(head[8:])}, nil
}

// Discard reads the rest of the stream unchecked (a snapshot the state
// holds already).
func (s *Reader) Discard() error {
	_, err := io.Copy(io.Discard, s.br)
	return err
}

// Next returns the next record's key and value. After the last record it
// checks the checksum and returns io.EOF when it matches; a stream cut
// short fails with io.ErrUnexpectedEOF, never io.EOF.
func (s *Reader) Next() (key, val []byte, err error) {
	klen, err := binary.ReadUvarint(&s.bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("read key length: %w", unexpected(err))
	}
	if klen == 0 {
		return nil, nil, s.verify()
	}
	if key, err = readN(s.r, klen); err != nil {
		return nil, nil, err
	}
	vlen, err := binary.ReadUvarint(&s.bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("read value length: %w", unexpected(err))
	}
	if val, err = readN(s.r, vlen); err != nil {
		return nil, nil, err
	}
	return key, val, nil
}

// verify checks the trailing checksum: io.EOF when it matches.
func (s *Reader) verify() error {
	want := s.crc.Sum32()
	var tail [4]byte
	if _, err := io.ReadFull(s.br, tail[:]); err != nil {
		return fmt.Errorf("read checksum: %w", unexpected(err))
	}
	if got := binary.BigEndian.Uint32(tail[:]); got != want {
		return fmt.Errorf("snapshot checksum %08x, computed %08x: %w", got, want, ErrCorrupt)
	}
	return io.EOF
}

func readN(r io.Reader, n uint64) ([]byte, error) {
	if n > maxRecord {
		return nil, fmt.Errorf("record of %d bytes: %w", n, ErrCorrupt)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("read record: %w", unexpected(err))
	}
	return b, nil
}

// unexpected turns the end of the input inside a stream into
// io.ErrUnexpectedEOF, so that only a complete stream ends with io.EOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

type teeByteReader struct{ r io.Reader }

func (t *teeByteReader) ReadByte() (byte, error) {
	var b [1]byte
	_, err := io.ReadFull(t.r, b[:])
	return b[0], err
}
