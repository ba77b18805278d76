package chunkserver

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
)

// logWriter sends the store's logs to t.Log, so they show only on failure.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func testConfig(t testing.TB, dirs ...string) Config {
	cfg := DefaultConfig()
	cfg.Dirs = dirs
	cfg.NoSync = true
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
	sizes := []int{0, 1, blockSize - 1, blockSize, blockSize + 1, 5*blockSize + 123}
	id := uint64(0)
	for _, size := range sizes {
		for _, known := range []bool{true, false} {
			for _, piece := range []int{1 << 30, 1000, blockSize + 7} {
				id++
				data := testData(size, id)
				if err := writeChunk(s, id, data, known, piece); err != nil {
					t.Fatalf("size %d known %v piece %d: %v", size, known, piece, err)
				}
				if got := mustGet(t, s, id); !bytes.Equal(got, data) {
					t.Fatalf("size %d known %v piece %d: data differs", size, known, piece)
				}
				// The file is exactly the documented encoding.
				file, err := os.ReadFile(filepath.Join(dir, "chunks", fanout(id), chunkName(id)))
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
}

func TestRangedReads(t *testing.T) {
	s, _ := newStore(t)
	size := int64(3*blockSize + 100)
	data := testData(int(size), 9)
	mustPut(t, s, 1, data)
	B := int64(blockSize)
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
	s.cfg.MaxChunkSize = 2 * blockSize
	err = writeChunk(s, 4, make([]byte, 2*blockSize+1), false, 1000)
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

func TestRestart(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, testConfig(t, dir))
	want := map[uint64][]byte{}
	for id := uint64(1); id <= 5; id++ {
		want[id] = testData(int(id)*40000, id)
		mustPut(t, s, id, want[id])
	}
	w, err := s.Create(6, -1) // crash in the middle of a write
	if err != nil {
		t.Fatal(err)
	}
	w.Write(testData(3*blockSize, 6))
	w.bw.Flush()
	defer w.Abort()
	stray := filepath.Join(dir, "chunks", "07", chunkName(7)+tempExt)
	os.WriteFile(stray, encodeChunk(7, []byte("whole but uncommitted")), 0o644)
	unknown := filepath.Join(dir, "chunks", "07", "README")
	os.WriteFile(unknown, []byte("not a chunk"), 0o644)

	s2 := openStore(t, testConfig(t, dir))
	if got := listIDs(s2); fmt.Sprint(got) != "[1 2 3 4 5]" {
		t.Fatalf("restarted store lists %v", got)
	}
	for id, data := range want {
		if !bytes.Equal(mustGet(t, s2, id), data) {
			t.Errorf("chunk %d differs after restart", id)
		}
	}
	assertNoTemps(t, dir)
	if _, err := os.Stat(unknown); err != nil {
		t.Errorf("unknown file touched: %v", err)
	}
	if c := s2.Corrupt(); len(c) != 0 {
		t.Errorf("Corrupt() = %v", c)
	}
}

func TestSeveralDirs(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	s := openStore(t, testConfig(t, a, b))
	const n = 200
	for id := uint64(0); id < n; id++ {
		mustPut(t, s, id, []byte{byte(id)})
	}
	count := func(dir string) int {
		m, _ := filepath.Glob(filepath.Join(dir, "chunks", "*", "*"+chunkExt))
		return len(m)
	}
	// Same file system, so equal weights: about half each.
	if ca, cb := count(a), count(b); ca+cb != n || ca < n/4 || cb < n/4 {
		t.Errorf("chunks spread %d / %d over two dirs", ca, cb)
	}
	s.Close()
	s = openStore(t, testConfig(t, a, b))
	for id := uint64(0); id < n; id++ {
		if got := mustGet(t, s, id); len(got) != 1 || got[0] != byte(id) {
			t.Fatalf("chunk %d = %v", id, got)
		}
	}
}

func TestDuplicateAcrossDirs(t *testing.T) {
	for _, firstBad := range []bool{false, true} {
		a, b := t.TempDir(), t.TempDir()
		data := testData(3*blockSize, 1)
		file := encodeChunk(42, data)
		pa := filepath.Join(a, "chunks", fanout(42), chunkName(42))
		pb := filepath.Join(b, "chunks", fanout(42), chunkName(42))
		openStore(t, testConfig(t, a, b)).Close() // make the layout
		bad := bytes.Clone(file)
		bad[headerSize+blockSize+5] ^= 0x10 // passes the cheap check
		if !firstBad {
			bad = file
		}
		os.WriteFile(pa, bad, 0o644)
		os.WriteFile(pb, file, 0o644)

		s := openStore(t, testConfig(t, a, b))
		if got := listIDs(s); fmt.Sprint(got) != "[42]" {
			t.Fatalf("firstBad %v: List = %v", firstBad, got)
		}
		if err := s.Verify(42); err != nil {
			t.Errorf("firstBad %v: kept copy fails: %v", firstBad, err)
		}
		if len(s.Corrupt()) != 0 {
			t.Errorf("firstBad %v: Corrupt() = %v", firstBad, s.Corrupt())
		}
		qa, _ := filepath.Glob(filepath.Join(a, "quarantine", "*"))
		qb, _ := filepath.Glob(filepath.Join(b, "quarantine", "*"))
		if len(qa)+len(qb) != 1 {
			t.Errorf("firstBad %v: quarantined %v %v", firstBad, qa, qb)
		}
	}
}

func TestDeleteWhileReading(t *testing.T) {
	s, _ := newStore(t)
	data := testData(4*blockSize, 3)
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

func TestConcurrent(t *testing.T) {
	s, _ := newStore(t)
	dataOf := func(id uint64) []byte { return testData(int(id%7)*30000+int(id%3), id) }
	var wg sync.WaitGroup
	errc := make(chan error, 100)
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
			for range 30 {
				for _, c := range s.List() {
					var buf bytes.Buffer
					_, err := s.ReadRange(c.ID, 0, c.Size, &buf)
					if err == nil && !bytes.Equal(buf.Bytes(), dataOf(c.ID)) {
						err = fmt.Errorf("chunk %d differs", c.ID)
					}
					if err != nil && !errors.Is(err, ErrNotFound) {
						errc <- err
					}
				}
			}
		})
	}
	var created sync.WaitGroup
	var wins sync.Map
	for g := range 8 { // racing Creates of one id: exactly one wins
		created.Go(func() {
			if w, err := s.Create(9999, 0); err == nil {
				wins.Store(g, w)
			} else if !errors.Is(err, ErrExists) {
				errc <- err
			}
		})
	}
	created.Wait()
	n := 0
	wins.Range(func(_, w any) bool { n++; return w.(*Writer).Commit() == nil })
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if n != 1 {
		t.Errorf("%d concurrent Creates of one id succeeded", n)
	}
}

func TestUsage(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	s := openStore(t, testConfig(t, a, b))
	mustPut(t, s, 1, make([]byte, 100))
	mustPut(t, s, 2, make([]byte, blockSize+1))
	used, capacity, err := s.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if want := fileSize(100) + fileSize(blockSize+1); used != want {
		t.Errorf("used = %d, want %d", used, want)
	}
	u, _ := OSFS().Statfs(a)
	// Both dirs share one file system, counted once (give or take others' writes).
	if capacity < used || capacity > used+u.Avail+u.Total/10 {
		t.Errorf("capacity = %d, used %d, avail %d", capacity, used, u.Avail)
	}
}

func TestSyncedWrites(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.NoSync = false
	s := openStore(t, cfg)
	data := testData(2*blockSize+3, 5)
	mustPut(t, s, 5, data)
	if !bytes.Equal(mustGet(t, s, 5), data) {
		t.Fatal("data differs")
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
