package disk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// logWriter sends the store's logs to t.Log, so they show only on failure.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// testConfig configures a store of chunk files only (packing off): most
// tests here are of the chunk file format. The tests of packed chunks, in
// pack_test.go, start from packConfig.
func testConfig(t testing.TB, dirs ...string) Config {
	cfg := DefaultConfig()
	cfg.Dirs = dirs
	cfg.NoSync = true
	cfg.PackMax = 0
	cfg.Logger = slog.New(slog.NewTextHandler(logWriter{t}, nil))
	return cfg
}

func openStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newStore opens a store on one fresh dir and returns it with the dir.
func newStore(t testing.TB) (*Store, string) {
	dir := t.TempDir()
	return openStore(t, testConfig(t, dir)), dir
}

// testData returns n pseudo-random bytes determined by seed.
func testData(n int, seed uint64) []byte {
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

// writeChunk writes data as chunk id in pieces of at most piece bytes,
// declaring the size only if known.
func writeChunk(s *Store, id uint64, data []byte, known bool, piece int) error {
	size := int64(-1)
	if known {
		size = int64(len(data))
	}
	w, err := s.Create(id, size)
	if err != nil {
		return err
	}
	defer w.Abort()
	for p := data; len(p) > 0; {
		k := min(piece, len(p))
		if _, err := w.Write(p[:k]); err != nil {
			return err
		}
		p = p[k:]
	}
	return w.Commit()
}

func mustPut(t testing.TB, s *Store, id uint64, data []byte) {
	t.Helper()
	if err := writeChunk(s, id, data, true, 1<<20); err != nil {
		t.Fatalf("put chunk %d: %v", id, err)
	}
}

func mustGet(t testing.TB, s *Store, id uint64) []byte {
	t.Helper()
	var buf bytes.Buffer
	st, err := s.Stat(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadRange(id, 0, st.Size, &buf); err != nil {
		t.Fatalf("read chunk %d: %v", id, err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	s, dir := newStore(t)
	sizes := []int{0, 1, format.BlockSize - 1, format.BlockSize, format.BlockSize + 1, 5*format.BlockSize + 123}
	id := uint64(0)
	for _, size := range sizes {
		for _, known := range []bool{true, false} {
			for _, piece := range []int{1 << 30, 1000, format.BlockSize + 7} {
				id++
				data := testData(size, id)
				if err := writeChunk(s, id, data, known, piece); err != nil {
					t.Fatalf("size %d known %v piece %d: %v", size, known, piece, err)
				}
				if got := mustGet(t, s, id); !bytes.Equal(got, data) {
					t.Fatalf("size %d known %v piece %d: data differs", size, known, piece)
				}
				// The file is exactly the documented encoding.
				file, err := os.ReadFile(filepath.Join(dir, "chunks", fanout(id), format.ChunkName(id)))
				if err != nil || !bytes.Equal(file, encodeChunk(id, data)) {
					t.Fatalf("size %d: file is not the canonical encoding (err %v)", size, err)
				}
				if st, err := s.Stat(id); err != nil || st != (ChunkInfo{id, int64(size)}) {
					t.Fatalf("Stat = %+v, %v", st, err)
				}
			}
		}
	}
	if got := len(s.List()); got != int(id) {
		t.Fatalf("List has %d chunks, want %d", got, id)
	}
	if n, bad := s.Len(); n != int(id) || bad != len(s.Corrupt()) {
		t.Fatalf("Len = %d, %d; want %d, %d", n, bad, id, len(s.Corrupt()))
	}
}

func TestCreateErrors(t *testing.T) {
	s, dir := newStore(t)
	mustPut(t, s, 1, []byte("one"))
	if _, err := s.Create(1, 3); !errors.Is(err, ErrExists) {
		t.Errorf("Create of a stored id: %v", err)
	}
	w, err := s.Create(2, -1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(2, -1); !errors.Is(err, ErrExists) {
		t.Errorf("Create of an id being written: %v", err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Abort: %v", err)
	}
	if _, err := s.Create(3, s.cfg.MaxChunkSize+1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Create too large: %v", err)
	}
	if _, err := s.Create(3, -2); !errors.Is(err, ErrRange) {
		t.Errorf("Create of size -2: %v", err)
	}
	s.cfg.MaxChunkSize = 2 * format.BlockSize
	err = writeChunk(s, 4, make([]byte, 2*format.BlockSize+1), false, 1000)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("unknown-size write past the limit: %v", err)
	}
	for _, n := range []int{99, 101} { // declared 100
		w, err := s.Create(5, 100)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(make([]byte, n))
		if err := w.Commit(); !errors.Is(err, ErrSizeMismatch) {
			t.Errorf("commit of %d bytes declared 100: %v", n, err)
		}
	}
	for _, id := range []uint64{2, 4, 5} {
		if _, err := s.Stat(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("chunk %d visible after failure: %v", id, err)
		}
	}
	assertNoTemps(t, dir)
	if ids := listIDs(openStore(t, testConfig(t, dir))); len(ids) != 1 || ids[0] != 1 {
		t.Errorf("restarted store holds %v, want [1]", ids)
	}
}

func TestNotFoundAndClosed(t *testing.T) {
	s, _ := newStore(t)
	checks := map[string]func() error{
		"Open":      func() error { _, err := s.Open(7); return err },
		"Stat":      func() error { _, err := s.Stat(7); return err },
		"Delete":    func() error { return s.Delete(7) },
		"Verify":    func() error { return s.Verify(7) },
		"ReadRange": func() error { _, err := s.ReadRange(7, 0, 0, io.Discard); return err },
	}
	for name, f := range checks {
		if err := f(); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of unknown chunk: %v", name, err)
		}
	}
	mustPut(t, s, 7, []byte("seven"))
	w, err := s.Create(8, -1)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close()
	for name, f := range checks {
		if err := f(); !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v", name, err)
		}
	}
	if _, err := s.Create(9, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Create after Close: %v", err)
	}
	if err := w.Commit(); !errors.Is(err, ErrClosed) {
		t.Errorf("Commit after Close: %v", err)
	}
}

func listIDs(s *Store) []uint64 {
	var ids []uint64
	for _, c := range s.List() {
		ids = append(ids, c.ID)
	}
	return ids
}

func assertNoTemps(t *testing.T, dirs ...string) {
	t.Helper()
	for _, dir := range dirs {
		tmps, _ := filepath.Glob(filepath.Join(dir, "chunks", "*", "*"+tempExt))
		if len(tmps) > 0 {
			t.Errorf("temporary files left: %v", tmps)
		}
	}
}

func TestConcurrent(t *testing.T) {
	s, _ := newStore(t)
	all := map[uint64][]byte{} // read-only once the goroutines start
	for g := range 4 {
		for i := range 15 {
			id := uint64(g*100 + i)
			all[id] = testData(int(id%7)*30000+int(id%3), id)
		}
	}
	dataOf := func(id uint64) []byte { return all[id] }
	var wg sync.WaitGroup
	errc := make(chan error, 1000)
	for g := range 4 {
		wg.Go(func() {
			for i := range 15 {
				id := uint64(g*100 + i)
				if err := writeChunk(s, id, dataOf(id), i%2 == 0, 20000); err != nil {
					errc <- err
				}
				if i%4 == 3 {
					if err := s.Delete(id); err != nil {
						errc <- err
					}
				}
			}
		})
		wg.Go(func() {
			for range 10 {
				for _, c := range s.List() {
					var buf bytes.Buffer
					_, err := s.ReadRange(c.ID, 0, c.Size, &buf)
					if err == nil && !bytes.Equal(buf.Bytes(), dataOf(c.ID)) {
						err = fmt.Errorf("chunk %d differs", c.ID)
					}
					if err != nil && !errors.Is(err, ErrNotFound) {
						errc <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func TestCreateRace(t *testing.T) {
	s, _ := newStore(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []*Writer
	for range 8 {
		wg.Go(func() {
			w, err := s.Create(9999, -1)
			if err != nil && !errors.Is(err, ErrExists) {
				t.Error(err)
			}
			if err == nil {
				mu.Lock()
				won = append(won, w)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("%d concurrent Creates of one id succeeded", len(won))
	}
	if err := won[0].Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.Dirs = []string{"/a", "/b"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(c *Config){
		"no dirs":   func(c *Config) { c.Dirs = nil },
		"empty dir": func(c *Config) { c.Dirs = []string{""} },
		"twice":     func(c *Config) { c.Dirs = []string{"/a", "/a/"} },
		"zero max":  func(c *Config) { c.MaxChunkSize = 0 },
		"huge max":  func(c *Config) { c.MaxChunkSize = 1 << 62 },
	}
	for name, mutate := range bad {
		c := ok
		mutate(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate passed", name)
		}
		if _, err := Open(c); err == nil {
			t.Errorf("%s: Open passed", name)
		}
	}
}

// Benchmarks compare the store with plain files written and read in the
// same pieces in the same run, so results can be quoted as ratios.

var benchSizes = []int{1 << 20, 64 << 20}

const benchPiece = 256 << 10 // bytes per Write and per read buffer

// BenchmarkWrite writes chunks with fsync: through the store, as a plain
// file (create, write, fsync, close), and as a plain file made crash-safe
// the way the store does it (also rename and fsync the dir), to separate
// the cost of checksums from the cost of atomic publication.
func BenchmarkWrite(b *testing.B) {
	for _, size := range benchSizes {
		data := testData(size, 1)
		b.Run(fmt.Sprintf("store/%dMiB", size>>20), func(b *testing.B) {
			cfg := testConfig(b, b.TempDir())
			cfg.NoSync, cfg.Logger = false, nil
			s := openStore(b, cfg)
			b.SetBytes(int64(size))
			for i := 0; i < b.N; i++ {
				if err := writeChunk(s, uint64(i), data, true, benchPiece); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				s.Delete(uint64(i))
				b.StartTimer()
			}
		})
		for _, atomic := range []bool{false, true} {
			name := map[bool]string{false: "os", true: "os+rename"}[atomic]
			b.Run(fmt.Sprintf("%s/%dMiB", name, size>>20), func(b *testing.B) {
				path := filepath.Join(b.TempDir(), "plain")
				b.SetBytes(int64(size))
				for i := 0; i < b.N; i++ {
					if err := writePlain(path, data, atomic); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					os.Remove(path)
					b.StartTimer()
				}
			})
		}
	}
}

// writePlain is the baseline: create, write, fsync, close; if atomic, it
// writes to a temporary name, then renames and fsyncs the dir.
func writePlain(path string, data []byte, atomic bool) error {
	name := path
	if atomic {
		name += tempExt
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	for p := data; len(p) > 0; p = p[min(benchPiece, len(p)):] {
		if _, err := f.Write(p[:min(benchPiece, len(p))]); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil || !atomic {
		return err
	}
	if err := os.Rename(name, path); err != nil {
		return err
	}
	return OSFS().SyncDir(filepath.Dir(path))
}

func BenchmarkRead(b *testing.B) {
	for _, size := range benchSizes {
		data := testData(size, 1)
		b.Run(fmt.Sprintf("store/%dMiB", size>>20), func(b *testing.B) {
			cfg := testConfig(b, b.TempDir())
			cfg.Logger = nil
			s := openStore(b, cfg)
			mustPut(b, s, 1, data)
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := s.ReadRange(1, 0, int64(size), discard{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("os/%dMiB", size>>20), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "plain")
			if err := writePlain(path, data, false); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, benchPiece)
			b.SetBytes(int64(size))
			for b.Loop() {
				if err := readPlain(path, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// readPlain is the baseline: open, read through buf, close.
func readPlain(path string, buf []byte) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		n, err := f.Read(buf)
		discard{}.Write(buf[:n])
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// discard is io.Discard without ReadFrom, so both sides copy the same way.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
