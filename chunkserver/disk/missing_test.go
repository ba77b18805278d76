package disk

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// A chunk whose file disappears while the store runs (deleted by hand, or
// its directory lost) is a lost replica: the read, verify or stat that hits
// it says ErrLost (which is also ErrNotFound), the store forgets it and
// TakeLost lists it once, so the server reports it removed and the master
// re-creates it. Sweep finds the same without any read.
func TestMissingFileIsALostReplica(t *testing.T) {
	s, dir := newStore(t)
	for id := uint64(1); id <= 4; id++ {
		if err := writeChunk(s, id, testData(5000, id), true, 1000); err != nil {
			t.Fatal(err)
		}
	}
	remove := func(id uint64) {
		t.Helper()
		matches, _ := filepath.Glob(filepath.Join(dir, "chunks", "*", format.ChunkName(id)))
		if len(matches) != 1 {
			t.Fatalf("chunk %d's file: %v", id, matches)
		}
		if err := os.Remove(matches[0]); err != nil {
			t.Fatal(err)
		}
	}
	remove(2)
	if err := s.Verify(2); !errors.Is(err, ErrLost) || !errors.Is(err, ErrNotFound) {
		t.Fatalf("verify of a chunk whose file is gone: %v", err)
	}
	if _, err := s.Stat(2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stat after the loss was found: %v", err)
	}
	if got := s.TakeLost(); !slices.Equal(got, []uint64{2}) {
		t.Fatalf("lost chunks %v, want [2]", got)
	}
	if got := s.TakeLost(); len(got) != 0 {
		t.Fatalf("lost chunks listed twice: %v", got)
	}
	if len(s.Corrupt()) != 0 {
		t.Fatalf("a lost chunk is not corrupt: %v", s.Corrupt())
	}

	remove(3)
	if _, err := s.ReadRange(3, 0, 10, discard{}); !errors.Is(err, ErrLost) {
		t.Fatalf("read of a chunk whose file is gone: %v", err)
	}
	remove(4)
	if n, err := s.Sweep(); n != 1 || err != nil {
		t.Fatalf("sweep found %d lost, %v; want 1", n, err)
	}
	if got := s.TakeLost(); !slices.Equal(got, []uint64{3, 4}) {
		t.Fatalf("lost chunks %v, want [3 4]", got)
	}
	if err := s.Verify(1); err != nil {
		t.Fatalf("chunk 1: %v", err)
	}
	if chunks, _ := s.Len(); chunks != 1 {
		t.Fatalf("%d chunks indexed, want 1", chunks)
	}
	// The master's later delete finds nothing; a fresh copy can be written.
	if err := s.Delete(2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete of the lost chunk: %v", err)
	}
	mustPut(t, s, 2, []byte("replacement"))
	if got := mustGet(t, s, 2); string(got) != "replacement" {
		t.Fatalf("re-created chunk reads %q", got)
	}
}

// failingDirFS fails every operation under one data dir with EIO, as a
// dead disk does. (A real unreadable directory cannot be made for these
// tests: they run as root, which chmod does not stop.)
type failingDirFS struct {
	FS
	dir    string
	failed bool
}

func (f *failingDirFS) hit(path string) error {
	if f.failed && strings.HasPrefix(path, f.dir) {
		return &os.PathError{Op: "io", Path: path, Err: syscall.EIO}
	}
	return nil
}

func (f *failingDirFS) ReadDir(dir string) ([]os.DirEntry, error) {
	if err := f.hit(dir); err != nil {
		return nil, err
	}
	return f.FS.ReadDir(dir)
}

func (f *failingDirFS) Stat(name string) (os.FileInfo, error) {
	if err := f.hit(name); err != nil {
		return nil, err
	}
	return f.FS.Stat(name)
}

func (f *failingDirFS) Statfs(dir string) (DiskUsage, error) {
	if err := f.hit(dir); err != nil {
		return DiskUsage{}, err
	}
	return f.FS.Statfs(dir)
}

func (f *failingDirFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	if err := f.hit(name); err != nil {
		return nil, err
	}
	return f.FS.OpenFile(name, flag, perm)
}

// A store with two data dirs keeps serving when one fails: the sweep marks
// the dir failed, reports its chunks lost, places new chunks on the other
// dir only, and names the failed dir.
func TestFailedDataDirIsReportedAndSkipped(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	fsys := &failingDirFS{FS: OSFS(), dir: b}
	cfg := testConfig(t, a, b)
	cfg.FS = fsys
	s := openStore(t, cfg)
	const n = 60
	for id := uint64(1); id <= n; id++ {
		mustPut(t, s, id, testData(100, id))
	}
	inB := func() []uint64 {
		var out []uint64
		for id := uint64(1); id <= n; id++ {
			if m, _ := filepath.Glob(filepath.Join(b, "chunks", "*", format.ChunkName(id))); len(m) == 1 {
				out = append(out, id)
			}
		}
		return out
	}
	wantLost := inB()
	if len(wantLost) == 0 || len(wantLost) == n {
		t.Fatalf("%d of %d chunks in the second dir; want a spread", len(wantLost), n)
	}
	fsys.failed = true
	lost, err := s.Sweep()
	if err != nil || lost != 0 {
		t.Fatalf("sweep: %d lost by stat, %v (a failed dir's chunks are lost with the dir)", lost, err)
	}
	got := s.TakeLost()
	slices.Sort(got)
	if !slices.Equal(got, wantLost) {
		t.Fatalf("lost %v, want the failed dir's chunks %v", got, wantLost)
	}
	if f := s.FailedDirs(); len(f) != 1 || !strings.HasPrefix(f[0], b+": ") {
		t.Fatalf("failed dirs %q, want %s", f, b)
	}
	for id := uint64(1); id <= n; id++ {
		_, err := s.Stat(id)
		if slices.Contains(wantLost, id) != errors.Is(err, ErrNotFound) {
			t.Fatalf("chunk %d after the dir failed: %v", id, err)
		}
	}
	for id := uint64(n + 1); id <= n+20; id++ {
		mustPut(t, s, id, testData(100, id))
	}
	if after := inB(); !slices.Equal(after, wantLost) {
		t.Fatalf("new chunks went to the failed dir: %v", after)
	}
	if _, _, err := s.Usage(); err != nil {
		t.Fatalf("usage with a failed dir: %v", err)
	}
}

// Config.Capacity is a hard bound: chunks of known size that would pass it
// are refused at Create, chunks of unknown size at Commit, both with
// ErrNoSpace and nothing left behind; deleting frees the room again, and
// Usage reports the bound as the capacity.
func TestCapacityIsAHardBound(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Capacity = 3 * format.FileSize(1000)
	s := openStore(t, cfg)
	for id := uint64(1); id <= 3; id++ {
		mustPut(t, s, id, testData(1000, id))
	}
	if _, err := s.Create(4, 1000); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("create past the capacity: %v", err)
	}
	if err := writeChunk(s, 5, testData(10, 5), false, 10); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("commit of an unknown-size chunk past the capacity: %v", err)
	}
	used, capacity, err := s.Usage()
	if err != nil || used != cfg.Capacity || capacity != cfg.Capacity {
		t.Fatalf("usage %d of %d (%v), want %d of %d", used, capacity, err, cfg.Capacity, cfg.Capacity)
	}
	if err := s.Delete(2); err != nil {
		t.Fatal(err)
	}
	if err := writeChunk(s, 5, testData(900, 5), false, 100); err != nil {
		t.Fatalf("a chunk that fits after a delete: %v", err)
	}
	// Writers in flight hold their room: two 1000-byte writers cannot both
	// start when only one fits.
	if err := s.Delete(5); err != nil {
		t.Fatal(err)
	}
	w, err := s.Create(6, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(7, 1000); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("a second writer while the first holds the room: %v", err)
	}
	w.Abort()
	w7, err := s.Create(7, 1000)
	if err != nil {
		t.Fatalf("after the abort: %v", err)
	}
	w7.Abort()
	// SetCapacity moves the bound on a running store: down to what it
	// holds (a full disk), then off.
	used, _, _ = s.Usage()
	s.SetCapacity(used)
	if _, err := s.Create(8, 1); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("create on a store set full: %v", err)
	}
	if _, capacity, _ := s.Usage(); capacity != used {
		t.Fatalf("capacity %d after SetCapacity(%d)", capacity, used)
	}
	s.SetCapacity(0)
	mustPut(t, s, 8, testData(5000, 8))
}
