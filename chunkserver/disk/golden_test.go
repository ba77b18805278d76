package disk

import (
	"bytes"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// Golden tests of the chunk file format (package format). The header and trailer
// of a few representative chunks are kept as bytes under testdata/format:
// TestGoldenFormat fails if the Writer encodes them differently, and
// TestGoldenFilesOpen checks that files built from the stored bytes still
// open, verify and read back. A change of format needs a new version
// number and new golden files next to the old ones, never an -update of
// these.
//
//	go test ./chunkserver/disk/ -run Golden -update

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// goldenChunk is one representative chunk: its id and data length. The data
// is goldenData(n), so only the header and trailer need storing.
type goldenChunk struct {
	name string
	id   uint64
	n    int
}

var goldenChunks = []goldenChunk{
	{"empty", 1, 0},
	{"small", 0x2a, 100},
	{"one-block", 0x0123456789abcdef, format.BlockSize},
	{"multi-block", 0xfedcba9876543210, 2*format.BlockSize + 17},
}

// goldenData returns n bytes that depend on nothing but n (an xorshift
// sequence), so the golden files stay valid whatever the test helpers do.
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

func goldenPath(c goldenChunk, part string) string {
	return filepath.Join("testdata", "format", c.name+"."+part)
}

// TestGoldenFormat writes each golden chunk through the Store and compares
// the header and trailer of the committed file with the golden bytes.
func TestGoldenFormat(t *testing.T) {
	s, dir := newStore(t)
	for _, c := range goldenChunks {
		t.Run(c.name, func(t *testing.T) {
			data := goldenData(c.n)
			mustPut(t, s, c.id, data)
			file, err := os.ReadFile(filepath.Join(dir, "chunks", fanout(c.id), format.ChunkName(c.id)))
			if err != nil {
				t.Fatal(err)
			}
			if len(file) != int(format.FileSize(int64(c.n))) {
				t.Fatalf("file length %d, want %d", len(file), format.FileSize(int64(c.n)))
			}
			parts := map[string][]byte{
				"header":  file[:format.HeaderSize],
				"trailer": file[format.HeaderSize+c.n:],
			}
			if !bytes.Equal(file[format.HeaderSize:format.HeaderSize+c.n], data) {
				t.Fatal("data is not stored contiguously after the header")
			}
			for _, part := range []string{"header", "trailer"} {
				checkGolden(t, goldenPath(c, part), parts[part])
			}
		})
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: the encoding changed\ngot:\n%swant:\n%s", path, hex.Dump(got), hex.Dump(want))
	}
}

// TestGoldenFilesOpen builds each chunk file from its golden header and
// trailer, places it in a data dir as an older release would have left it,
// and checks that a Store opens, verifies and reads it.
func TestGoldenFilesOpen(t *testing.T) {
	dir := t.TempDir()
	for _, c := range goldenChunks {
		h, err := os.ReadFile(goldenPath(c, "header"))
		if err != nil {
			t.Fatal(err)
		}
		tr, err := os.ReadFile(goldenPath(c, "trailer"))
		if err != nil {
			t.Fatal(err)
		}
		if n, err := format.DecodeHeader(h, c.id); err != nil || n != int64(c.n) {
			t.Fatalf("%s: golden header decodes to %d, %v; want %d", c.name, n, err, c.n)
		}
		path := filepath.Join(dir, "chunks", fanout(c.id), format.ChunkName(c.id))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		file := append(append(bytes.Clone(h), goldenData(c.n)...), tr...)
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s := openStore(t, testConfig(t, dir))
	if _, corrupt := s.Len(); corrupt != 0 {
		t.Fatalf("corrupt chunks after Open: %v", s.Corrupt())
	}
	for _, c := range goldenChunks {
		if err := s.Verify(c.id); err != nil {
			t.Errorf("%s: Verify: %v", c.name, err)
			continue
		}
		if got := mustGet(t, s, c.id); !bytes.Equal(got, goldenData(c.n)) {
			t.Errorf("%s: read back different data", c.name)
		}
	}
	if got := len(s.List()); got != len(goldenChunks) {
		t.Errorf("store lists %d chunks, want %d", got, len(goldenChunks))
	}
}
