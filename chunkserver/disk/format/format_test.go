package format

import (
	"bytes"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The golden bytes are the chunk store's (../testdata): its tests write
// them through a Store; these check that the codecs alone produce them,
// and never rewrite them.

// golden is one of the chunk store's golden chunks: name, id, data length.
var golden = []struct {
	name string
	id   uint64
	n    int
}{
	{"empty", 1, 0},
	{"small", 0x2a, 100},
	{"one-block", 0x0123456789abcdef, BlockSize},
	{"multi-block", 0xfedcba9876543210, 2*BlockSize + 17},
}

// goldenData is the chunk store's goldenData: an xorshift sequence that
// depends on nothing but n.
func goldenData(n int) []byte {
	b := make([]byte, n)
	x := uint32(0x9e3779b9)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x >> 24)
	}
	return b
}

func blockCRCs(data []byte) []uint32 {
	var crcs []uint32
	for p := data; len(p) > 0; p = p[min(BlockSize, len(p)):] {
		crcs = append(crcs, crc32.Checksum(p[:min(BlockSize, len(p))], Castagnoli))
	}
	return crcs
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join("..", "testdata", path))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: the encoding changed\ngot:\n%swant:\n%s", path, hex.Dump(got), hex.Dump(want))
	}
}

// TestGoldenChunkCodec encodes the golden chunk files' headers and
// trailers and decodes them back.
func TestGoldenChunkCodec(t *testing.T) {
	for _, c := range golden {
		h := EncodeHeader(c.id, int64(c.n))
		crcs := blockCRCs(goldenData(c.n))
		tr := EncodeTrailer(h, crcs)
		checkGolden(t, filepath.Join("format", c.name+".header"), h)
		checkGolden(t, filepath.Join("format", c.name+".trailer"), tr)
		if n, err := DecodeHeader(h, c.id); err != nil || n != int64(c.n) {
			t.Errorf("%s: DecodeHeader = %d, %v", c.name, n, err)
		}
		if got, err := DecodeTrailer(h, tr); err != nil || len(got) != len(crcs) || int64(len(got)) != NumBlocks(int64(c.n)) {
			t.Errorf("%s: DecodeTrailer = %v, %v", c.name, got, err)
		}
		if FileSize(int64(c.n)) != int64(len(h)+c.n+len(tr)) {
			t.Errorf("%s: FileSize %d", c.name, FileSize(int64(c.n)))
		}
	}
}

// TestGoldenVolumeCodec encodes the golden volume's parts: its header,
// each chunk's record head, the tombstone of the small chunk and the end.
func TestGoldenVolumeCodec(t *testing.T) {
	checkGolden(t, filepath.Join("pack", "volume.header"), EncodeVolumeHeader(1))
	off, small := int64(VolHeaderSize), int64(0)
	for _, c := range golden {
		rec := EncodeRecord(c.id, goldenData(c.n))
		if int64(len(rec)) != RecordSize(int64(c.n)) {
			t.Fatalf("%s: record of %d bytes, RecordSize %d", c.name, len(rec), RecordSize(int64(c.n)))
		}
		checkGolden(t, filepath.Join("pack", c.name+".head"), rec[:RecordPrefix(int64(c.n))])
		if c.name == "small" {
			small = off
		}
		off += int64(len(rec))
	}
	checkGolden(t, filepath.Join("pack", "tombstone"), EncodeTombstone(golden[1].id, 1, small))
	checkGolden(t, filepath.Join("pack", "end"), EncodeEnd())
	if err := DecodeVolumeHeader(EncodeVolumeHeader(7), 7); err != nil {
		t.Errorf("DecodeVolumeHeader: %v", err)
	}
}

// TestFlipAnyHeaderByte flips each bit of each header and checks that the
// decoder fails with ErrCorrupt.
func TestFlipAnyHeaderByte(t *testing.T) {
	headers := map[string]struct {
		b      []byte
		decode func([]byte) error
	}{
		"chunk":  {EncodeHeader(9, 100), func(h []byte) error { _, err := DecodeHeader(h, 9); return err }},
		"volume": {EncodeVolumeHeader(3), func(h []byte) error { return DecodeVolumeHeader(h, 3) }},
		"record": {EncodeRecord(9, goldenData(100))[:RecHeaderSize], func(h []byte) error { _, err := DecodeRecordHeader(h); return err }},
	}
	for name, c := range headers {
		if err := c.decode(c.b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range c.b {
			for bit := range 8 {
				b := bytes.Clone(c.b)
				b[i] ^= 1 << bit
				if err := c.decode(b); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("%s: byte %d bit %d flipped: %v", name, i, bit, err)
				}
			}
		}
	}
	tr := EncodeTrailer(EncodeHeader(9, 100), blockCRCs(goldenData(100)))
	for i := range tr {
		b := bytes.Clone(tr)
		b[i] ^= 0x10
		if _, err := DecodeTrailer(EncodeHeader(9, 100), b); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("trailer byte %d flipped: %v", i, err)
		}
	}
}

// TestRecordHead reads record heads through an io.ReaderAt: a chunk, a
// void record and a record that passes the end of the file.
func TestRecordHead(t *testing.T) {
	data := goldenData(3*BlockSize + 5)
	rec := EncodeRecord(5, data)
	file := append(EncodeVolumeHeader(1), rec...)
	h, hb, crcs, err := ReadRecordHead(bytes.NewReader(file), VolHeaderSize, int64(len(file)))
	if err != nil || h != (RecHeader{Kind: KindChunk, ID: 5, N: int64(len(data))}) || len(crcs) != 4 || !bytes.Equal(hb, rec[:RecHeaderSize]) {
		t.Fatalf("ReadRecordHead = %+v, %d crcs, %v", h, len(crcs), err)
	}
	if h.Size() != int64(len(rec)) {
		t.Errorf("Size %d, record of %d bytes", h.Size(), len(rec))
	}
	if _, _, _, err := ReadRecordHead(bytes.NewReader(file), VolHeaderSize, int64(len(file))-1); !errors.Is(err, ErrCorrupt) {
		t.Errorf("record past the end: %v", err)
	}
	copy(file[VolHeaderSize:], VoidHeader(5, int64(len(data))))
	h, _, crcs, err = ReadRecordHead(bytes.NewReader(file), VolHeaderSize, int64(len(file)))
	if err != nil || h.Kind != KindVoid || crcs != nil || h.Size() != int64(len(rec)) {
		t.Errorf("void: %+v, %v, %v", h, crcs, err)
	}
}

func TestNames(t *testing.T) {
	for _, id := range []uint64{0, 1, 0x1ab, 1<<64 - 1} {
		if got, ok := ParseChunkName(ChunkName(id)); !ok || got != id {
			t.Errorf("parse(%q) = %d, %v", ChunkName(id), got, ok)
		}
	}
	if n := ChunkName(0x1ab); n != "00000000000001ab.chunk" {
		t.Errorf("name %q", n)
	}
	for _, name := range []string{"", "1ab.chunk", "00000000000001AB.chunk", "00000000000001ab.chunk.tmp", "+0000000000001ab.chunk", "00000000000001abXchunk"} {
		if _, ok := ParseChunkName(name); ok {
			t.Errorf("parse(%q) accepted", name)
		}
	}
	if n := VolumeName(0x1ab); n != "00000000000001ab.vol" {
		t.Errorf("volume name %q", n)
	}
	for _, name := range []string{"0000000000000000.vol", "00000000000001AB.vol", "00000000000001ab.chunk", "1ab.vol"} {
		if _, ok := ParseVolumeName(name); ok {
			t.Errorf("parse volume %q accepted", name)
		}
	}
	if seq, ok := ParseVolumeName(VolumeName(42)); !ok || seq != 42 {
		t.Errorf("parse volume: %d, %v", seq, ok)
	}
}

// failingReader fails every read that touches [from, to) with an I/O
// error.
type failingReader struct {
	r        io.ReaderAt
	from, to int64
}

var errIO = errors.New("injected I/O error")

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off < f.to && off+int64(len(p)) > f.from {
		return 0, errIO
	}
	return f.r.ReadAt(p, off)
}

// TestScanVolume walks the golden volume built from its parts: whole, with
// a torn tail, with a damaged record before its end record, and with an
// I/O error.
func TestScanVolume(t *testing.T) {
	read := func(part string) []byte {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "pack", part))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	vol := read("volume.header")
	for _, c := range golden {
		vol = append(vol, read(c.name+".head")...)
		vol = append(vol, goldenData(c.n)...)
	}
	vol = append(vol, read("tombstone")...)
	vol = append(vol, read("end")...)
	scan := func(file []byte, r io.ReaderAt) (Scan, []RecHeader, error) {
		var got []RecHeader
		sc, err := ScanVolume(r, int64(len(file)), 1, func(_ int64, h RecHeader) { got = append(got, h) })
		return sc, got, err
	}

	sc, got, err := scan(vol, bytes.NewReader(vol))
	if err != nil || !sc.Ended || sc.Stop != nil || sc.End != int64(len(vol)) || len(got) != len(golden)+2 {
		t.Fatalf("whole: %+v, %d records, %v", sc, len(got), err)
	}
	if got[4].Kind != KindTomb || got[4].ID != golden[1].id || got[5].Kind != KindEnd {
		t.Errorf("records %+v", got)
	}

	torn := vol[:len(vol)-len(read("end"))-3] // no end record, half a tombstone
	sc, got, err = scan(torn, bytes.NewReader(torn))
	if err != nil || sc.Ended || !errors.Is(sc.Stop, ErrCorrupt) || len(got) != len(golden) {
		t.Errorf("torn: %+v, %d records, %v", sc, len(got), err)
	}

	damaged := bytes.Clone(vol)
	damaged[VolHeaderSize+RecordSize(0)+3] ^= 1 // the small chunk's header
	sc, got, err = scan(damaged, bytes.NewReader(damaged))
	if err != nil || !sc.Ended || !errors.Is(sc.Stop, ErrCorrupt) || len(got) != 1 || sc.End != VolHeaderSize+RecordSize(0) {
		t.Errorf("damaged: %+v, %d records, %v", sc, len(got), err)
	}

	for _, at := range []int64{VolHeaderSize + 10, int64(len(vol)) - 10} { // a record, the end record
		if _, _, err := scan(vol, failingReader{bytes.NewReader(vol), at, at + 1}); !errors.Is(err, errIO) || errors.Is(err, ErrCorrupt) {
			t.Errorf("I/O error at %d: %v", at, err)
		}
	}
	if _, _, err := scan(vol[:VolHeaderSize-1], bytes.NewReader(vol[:VolHeaderSize-1])); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short header: %v", err)
	}
}
