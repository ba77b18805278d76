package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// encodeChunk builds the chunk file for data independently of the Writer.
func encodeChunk(id uint64, data []byte) []byte {
	var crcs []uint32
	for p := data; len(p) > 0; p = p[min(format.BlockSize, len(p)):] {
		crcs = append(crcs, crc32.Checksum(p[:min(format.BlockSize, len(p))], format.Castagnoli))
	}
	h := format.EncodeHeader(id, int64(len(data)))
	return slices.Concat(h, data, format.EncodeTrailer(h, crcs))
}

// TestMixedWrites mixes small writes, which go through the write buffer,
// with large ones, which bypass it when it is empty.
func TestMixedWrites(t *testing.T) {
	s, _ := newStore(t)
	buf := copyBlocks * format.BlockSize
	pieces := []int{100, 3 * buf, buf - 100, buf, 5, 2 * buf, 1, buf + 1, 0, 7}
	total := 0
	for _, n := range pieces {
		total += n
	}
	data := testData(total, 6)
	w, err := s.Create(1, -1)
	if err != nil {
		t.Fatal(err)
	}
	for p, i := data, 0; i < len(pieces); p, i = p[pieces[i]:], i+1 {
		if n, err := w.Write(p[:pieces[i]]); err != nil || n != pieces[i] {
			t.Fatalf("Write(%d) = %d, %v", pieces[i], n, err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustGet(t, s, 1), data) {
		t.Fatal("data differs")
	}
}

func TestRangedReads(t *testing.T) {
	s, _ := newStore(t)
	size := int64(3*format.BlockSize + 100)
	data := testData(int(size), 9)
	mustPut(t, s, 1, data)
	B := int64(format.BlockSize)
	cases := [][2]int64{ // off, n
		{0, 0}, {0, 1}, {0, B - 1}, {0, B}, {0, B + 1}, {B - 1, 1}, {B - 1, 2},
		{B, 1}, {B, B}, {B + 1, B}, {B - 1, B + 2}, {1, 3 * B}, {3 * B, 100},
		{3*B + 99, 1}, {size, 0}, {size - 1, 1}, {0, size}, {B / 2, size - B/2},
	}
	r, err := s.Open(1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, c := range cases {
		var buf bytes.Buffer
		n, err := s.ReadRange(1, c[0], c[1], &buf)
		if err != nil || n != c[1] || !bytes.Equal(buf.Bytes(), data[c[0]:c[0]+c[1]]) {
			t.Errorf("ReadRange(%d, %d) = %d, %v", c[0], c[1], n, err)
		}
		p := make([]byte, c[1])
		if k, err := r.ReadAt(p, c[0]); err != nil || k != len(p) || !bytes.Equal(p, data[c[0]:c[0]+c[1]]) {
			t.Errorf("ReadAt(len %d, %d) = %d, %v", c[1], c[0], k, err)
		}
	}
	// ReadAt follows io.ReaderAt past the end, and rejects offsets outside.
	p := make([]byte, 200)
	if k, err := r.ReadAt(p, size-50); k != 50 || err != io.EOF || !bytes.Equal(p[:50], data[size-50:]) {
		t.Errorf("ReadAt across the end = %d, %v", k, err)
	}
	if k, err := r.ReadAt(p, size); k != 0 || err != io.EOF {
		t.Errorf("ReadAt at the end = %d, %v", k, err)
	}
	for _, off := range []int64{-1, size + 1} {
		if _, err := r.ReadAt(p, off); !errors.Is(err, ErrRange) {
			t.Errorf("ReadAt at %d: %v, want ErrRange", off, err)
		}
	}
	for _, c := range [][2]int64{{-1, 1}, {0, -1}, {size, 1}, {size + 1, 0}, {1, size}, {5, 1 << 62}} {
		if _, err := s.ReadRange(1, c[0], c[1], io.Discard); !errors.Is(err, ErrRange) {
			t.Errorf("ReadRange(%d, %d): %v, want ErrRange", c[0], c[1], err)
		}
	}
}

func TestDeleteWhileReading(t *testing.T) {
	s, _ := newStore(t)
	data := testData(4*format.BlockSize, 3)
	mustPut(t, s, 1, data)
	r, err := s.Open(1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := s.Delete(1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open after Delete: %v", err)
	}
	p := make([]byte, len(data))
	if n, err := r.ReadAt(p, 0); err != nil || n != len(p) || !bytes.Equal(p, data) {
		t.Errorf("read of a deleted chunk through an open reader: %d, %v", n, err)
	}
	mustPut(t, s, 1, []byte("new")) // the id can be written again
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadAt(p, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadAt after Close: %v", err)
	}
}

// TestSharedReader reads one Reader from several goroutines, as
// io.ReaderAt allows.
func TestSharedReader(t *testing.T) {
	s, _ := newStore(t)
	data := testData(4*format.BlockSize+11, 8)
	mustPut(t, s, 1, data)
	r, err := s.Open(1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 50 {
				off := rng.Int64N(int64(len(data)))
				p := make([]byte, rng.Int64N(int64(len(data))-off+1))
				if n, err := r.ReadAt(p, off); err != nil || !bytes.Equal(p[:n], data[off:off+int64(n)]) {
					t.Errorf("ReadAt(%d bytes at %d) = %d, %v", len(p), off, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// flipPositions returns the byte offsets to flip in a chunk file of n data
// bytes: all of them for small files, else the header, the trailer, and
// the data bytes around every block edge.
func flipPositions(n int) []int64 {
	size := format.FileSize(int64(n))
	if size <= 2000 {
		all := make([]int64, size)
		for i := range all {
			all[i] = int64(i)
		}
		return all
	}
	var out []int64
	for i := int64(0); i < format.HeaderSize; i++ {
		out = append(out, i)
	}
	for b := int64(0); b*format.BlockSize < int64(n); b++ {
		for _, d := range []int64{0, 1, 777, format.BlockSize - 1} {
			if off := b*format.BlockSize + d; off < int64(n) {
				out = append(out, format.HeaderSize+off)
			}
		}
	}
	for i := format.HeaderSize + int64(n); i < size; i++ {
		out = append(out, i)
	}
	return out
}

func TestFlipAnyByte(t *testing.T) {
	for _, n := range []int{0, 100, 2*format.BlockSize + 10} {
		s, _ := newStore(t)
		const id = 0x1ab
		data := testData(n, 4)
		mustPut(t, s, id, data)
		path := s.path(0, id)
		file, _ := os.ReadFile(path)
		for _, pos := range flipPositions(n) {
			bad := bytes.Clone(file)
			bad[pos] ^= 1 << (pos % 8)
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			checkFlipDetected(t, s, id, data, pos)
		}
		if _, bad := s.Len(); bad != 1 {
			t.Errorf("Len counts %d corrupt chunks, want 1", bad)
		}
		if got := s.Corrupt(); len(got) != 1 || got[0] != id {
			t.Errorf("Corrupt() = %v", got)
		}
		os.WriteFile(path, file, 0o644)
		if err := s.Delete(id); err != nil || len(s.Corrupt()) != 0 {
			t.Errorf("Delete: %v; Corrupt() = %v", err, s.Corrupt())
		}
	}
}

// checkFlipDetected checks that a flipped byte at pos of chunk id's file
// fails Verify, and fails Open (header, trailer) or exactly the reads of
// the affected block (data).
func checkFlipDetected(t *testing.T, s *Store, id uint64, data []byte, pos int64) {
	t.Helper()
	if err := s.Verify(id); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("byte %d flipped: Verify = %v", pos, err)
	}
	r, err := s.Open(id)
	inData := pos >= format.HeaderSize && pos < format.HeaderSize+int64(len(data))
	if !inData {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d flipped: Open = %v, want ErrCorrupt", pos, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("byte %d flipped: Open = %v", pos, err)
	}
	defer r.Close()
	bad := (pos - format.HeaderSize) / format.BlockSize
	all := make([]byte, len(data))
	if n, err := r.ReadAt(all, 0); !errors.Is(err, ErrCorrupt) || int64(n) != bad*format.BlockSize ||
		!bytes.Equal(all[:n], data[:n]) {
		t.Fatalf("byte %d flipped: whole ReadAt = %d, %v; want the %d bytes before the bad block", pos, n, err, bad*format.BlockSize)
	}
	for b := int64(0); b*format.BlockSize < int64(len(data)); b++ {
		// Read one byte of the block that is not the flipped one.
		off := b * format.BlockSize
		if off == pos-format.HeaderSize {
			off++
		}
		if off >= int64(len(data)) {
			continue
		}
		p := make([]byte, 1)
		_, err := r.ReadAt(p, off)
		switch {
		case b == bad && !errors.Is(err, ErrCorrupt):
			t.Fatalf("byte %d flipped: read of block %d = %v, want ErrCorrupt", pos, b, err)
		case b != bad && (err != nil || p[0] != data[off]):
			t.Fatalf("byte %d flipped: read of good block %d = %v", pos, b, err)
		}
	}
}

func TestTruncatedOrExtended(t *testing.T) {
	s, _ := newStore(t)
	data := testData(3*format.BlockSize+5, 2)
	mustPut(t, s, 3, data)
	path := s.path(0, 3)
	full := format.FileSize(int64(len(data)))
	for _, size := range []int64{0, 10, format.HeaderSize, format.HeaderSize + format.BlockSize, full - 1, full + 1} {
		file := encodeChunk(3, data)
		if size > full {
			file = append(file, 0)
		}
		os.WriteFile(path, file[:size], 0o644)
		if _, err := s.Open(3); !errors.Is(err, ErrCorrupt) {
			t.Errorf("length %d: Open = %v", size, err)
		}
		if err := s.Verify(3); !errors.Is(err, ErrCorrupt) {
			t.Errorf("length %d: Verify = %v", size, err)
		}
	}
	// Truncated under an open reader.
	os.WriteFile(path, encodeChunk(3, data), 0o644)
	r, err := s.Open(3)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	os.Truncate(path, format.HeaderSize+format.BlockSize+100)
	if _, err := r.ReadAt(make([]byte, 10), 2*format.BlockSize); !errors.Is(err, ErrCorrupt) {
		t.Errorf("read past a truncation: %v", err)
	}
	if _, err := r.ReadAt(make([]byte, 10), 0); err != nil {
		t.Errorf("read before a truncation: %v", err)
	}
}

func TestRestartQuarantines(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, testConfig(t, dir))
	for id := uint64(1); id <= 4; id++ {
		mustPut(t, s, id, testData(2*format.BlockSize, id))
	}
	s.Close()
	flip := func(id uint64, pos int64) {
		path := s.path(0, id)
		b, _ := os.ReadFile(path)
		b[pos] ^= 0x80
		os.WriteFile(path, b, 0o644)
	}
	flip(1, 20)                                   // header
	os.Truncate(s.path(0, 2), 1000)               // length
	flip(3, format.HeaderSize+format.BlockSize+9) // data: passes the cheap check
	os.Rename(s.path(0, 4), s.path(0, 4+256))     // name and header disagree

	s = openStore(t, testConfig(t, dir))
	if got := listIDs(s); !slices.Equal(got, []uint64{3}) {
		t.Errorf("List = %v, want [3]", got)
	}
	if got := s.Corrupt(); !slices.Equal(got, []uint64{1, 2, 4 + 256}) {
		t.Errorf("Corrupt() = %v", got)
	}
	q, _ := filepath.Glob(filepath.Join(dir, "quarantine", "*"))
	if len(q) != 3 {
		t.Errorf("quarantine holds %v", q)
	}
	if err := s.Verify(3); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Verify of a flipped data byte: %v", err)
	}
	if got := s.Corrupt(); !slices.Equal(got, []uint64{1, 2, 3, 4 + 256}) {
		t.Errorf("after Verify, Corrupt() = %v", got)
	}
	// The master replaces and deletes; a quarantined id clears too.
	s.Delete(1)
	mustPut(t, s, 2, []byte("fresh copy"))
	if got := s.Corrupt(); !slices.Equal(got, []uint64{3, 4 + 256}) {
		t.Errorf("after repair, Corrupt() = %v", got)
	}
}

func TestUnsupportedVersionLeftInPlace(t *testing.T) {
	dir := t.TempDir()
	openStore(t, testConfig(t, dir)).Close()
	file := encodeChunk(5, []byte("from the future"))
	binary.LittleEndian.PutUint16(file[8:], format.Version+1)
	binary.LittleEndian.PutUint32(file[60:], crc32.Checksum(file[:60], format.Castagnoli))
	path := filepath.Join(dir, "chunks", fanout(5), format.ChunkName(5))
	os.WriteFile(path, file, 0o644)
	s := openStore(t, testConfig(t, dir))
	if len(s.List()) != 0 || len(s.Corrupt()) != 0 {
		t.Errorf("List = %v, Corrupt = %v", s.List(), s.Corrupt())
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("file moved: %v", err)
	}
}

// TestFanout checks the fan-out dir of a chunk (its name is tested in
// package format).
func TestFanout(t *testing.T) {
	if f := fanout(0x1ab); f != "ab" {
		t.Errorf("fanout %q", f)
	}
}

// FuzzOpenChunk feeds arbitrary bytes as a chunk file. Opening and reading
// must never panic and must either fail with ErrCorrupt or return data
// whose canonical encoding is exactly the input.
func FuzzOpenChunk(f *testing.F) {
	const id = 7
	for _, n := range []int{0, 1, 100, format.BlockSize, format.BlockSize + 1} {
		file := encodeChunk(id, testData(n, uint64(n)))
		f.Add(file)
		f.Add(file[:len(file)-1])
		flipped := bytes.Clone(file)
		flipped[len(file)/2] ^= 4
		f.Add(flipped)
	}
	path := filepath.Join(f.TempDir(), format.ChunkName(id))
	f.Fuzz(func(t *testing.T, file []byte) {
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		fsys := OSFS()
		cf, err := fsys.OpenFile(path, os.O_RDONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _, cheapErr := checkHeader(cf, id)
		cf.Close()
		r, err := openReader(fsys, path, id)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open: %v, want ErrCorrupt", err)
			}
			return
		}
		defer r.Close()
		if cheapErr != nil {
			t.Fatalf("Open accepted what the start-up check rejects: %v", cheapErr)
		}
		var buf bytes.Buffer
		if _, err := r.CopyTo(&buf, 0, r.Size()); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("read: %v, want ErrCorrupt", err)
			}
			return
		}
		if !bytes.Equal(encodeChunk(id, buf.Bytes()), file) {
			t.Fatal("accepted a file that is not the encoding of the data read")
		}
	})
}
