package disk

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// errFS wraps an FS and fails its i-th operation (counting FS and File
// calls alike), or every operation from the i-th on when sticky. Only ops
// accepted by the filter count, if it is set.
type errFS struct {
	FS
	mu      sync.Mutex
	ops     int // operations counted since arm
	failAt  int // -1: never fail
	sticky  bool
	err     error
	filter  func(op string) bool
	hit     bool
	statfs  func(DiskUsage) DiskUsage // rewrites Statfs results if set
	opNames []string
}

func newErrFS() *errFS { return &errFS{FS: OSFS(), failAt: -1, err: syscall.EIO} }

// arm makes operation i (from now) fail with err, and the ones after it
// too if sticky.
func (e *errFS) arm(i int, sticky bool, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ops, e.failAt, e.sticky, e.err, e.hit, e.opNames = 0, i, sticky, err, false, nil
}

// disarm stops failures and reports whether one was injected, and which
// operations ran.
func (e *errFS) disarm() (bool, []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failAt = -1
	return e.hit, e.opNames
}

func (e *errFS) inject(op, path string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.failAt < 0 || (e.filter != nil && !e.filter(op)) {
		return nil
	}
	i := e.ops
	e.ops++
	e.opNames = append(e.opNames, op)
	if i == e.failAt || (e.sticky && i > e.failAt) {
		e.hit = true
		return &os.PathError{Op: op, Path: path, Err: e.err}
	}
	return nil
}

func (e *errFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	if err := e.inject("open", name); err != nil {
		return nil, err
	}
	f, err := e.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &errFile{File: f, fs: e, name: name}, nil
}

func (e *errFS) Rename(oldname, newname string) error {
	if err := e.inject("rename", oldname); err != nil {
		return err
	}
	return e.FS.Rename(oldname, newname)
}

func (e *errFS) Remove(name string) error {
	if err := e.inject("remove", name); err != nil {
		return err
	}
	return e.FS.Remove(name)
}

func (e *errFS) MkdirAll(dir string, perm os.FileMode) error {
	if err := e.inject("mkdir", dir); err != nil {
		return err
	}
	return e.FS.MkdirAll(dir, perm)
}

func (e *errFS) ReadDir(dir string) ([]os.DirEntry, error) {
	if err := e.inject("readdir", dir); err != nil {
		return nil, err
	}
	return e.FS.ReadDir(dir)
}

func (e *errFS) Stat(name string) (os.FileInfo, error) {
	if err := e.inject("stat", name); err != nil {
		return nil, err
	}
	return e.FS.Stat(name)
}

func (e *errFS) Statfs(dir string) (DiskUsage, error) {
	if err := e.inject("statfs", dir); err != nil {
		return DiskUsage{}, err
	}
	u, err := e.FS.Statfs(dir)
	if e.statfs != nil {
		u = e.statfs(u)
	}
	return u, err
}

func (e *errFS) SyncDir(dir string) error {
	if err := e.inject("syncdir", dir); err != nil {
		return err
	}
	return e.FS.SyncDir(dir)
}

type errFile struct {
	File
	fs   *errFS
	name string
}

// WriteAt fails after writing half of p, as a disk filling up does.
func (f *errFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.fs.inject("writeat", f.name); err != nil {
		n, _ := f.File.WriteAt(p[:len(p)/2], off)
		return n, err
	}
	return f.File.WriteAt(p, off)
}

func (f *errFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.fs.inject("readat", f.name); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

func (f *errFile) Sync() error {
	if err := f.fs.inject("sync", f.name); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *errFile) Stat() (os.FileInfo, error) {
	if err := f.fs.inject("fstat", f.name); err != nil {
		return nil, err
	}
	return f.File.Stat()
}

// Close always closes the file, like a real close that reports an error.
func (f *errFile) Close() error {
	err := f.fs.inject("close", f.name)
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}

// TestFailEveryOp runs Create, Write and Commit failing the i-th disk
// operation for every i: either the error comes back and no trace of the
// chunk is visible, now or to a fresh Store, or it succeeded and reads back.
func TestFailEveryOp(t *testing.T) {
	for _, sticky := range []bool{false, true} {
		for _, known := range []bool{true, false} {
			t.Run(fmt.Sprintf("sticky=%v/known=%v", sticky, known), func(t *testing.T) {
				failEveryOp(t, sticky, known)
			})
		}
	}
}

func failEveryOp(t *testing.T, sticky, known bool) {
	dir := t.TempDir()
	efs := newErrFS()
	cfg := testConfig(t, dir)
	cfg.FS, cfg.NoSync = efs, false
	s := openStore(t, cfg)
	data := testData(10*format.BlockSize+100, 1)
	for i := 0; ; i++ {
		id := uint64(i + 1)
		efs.arm(i, sticky, syscall.EIO)
		err := writeChunk(s, id, data, known, 100_000)
		hit, ops := efs.disarm()
		if !hit {
			if err != nil {
				t.Fatalf("no failure injected, yet: %v", err)
			}
			t.Logf("%d operations: %v", i, ops)
			return
		}
		if err == nil {
			t.Fatalf("op %d (%s) failed but Commit succeeded", i, ops[i])
		}
		if _, serr := s.Stat(id); !errors.Is(serr, ErrNotFound) {
			t.Fatalf("op %d (%s) failed: chunk visible: %v", i, ops[i], serr)
		}
		if !sticky {
			assertNoTemps(t, dir)
		}
		fresh := openStore(t, testConfig(t, dir))
		if _, err := fresh.Stat(id); err == nil && (!sticky || !bytes.Equal(mustGet(t, fresh, id), data)) {
			t.Fatalf("op %d (%s) failed: a fresh store sees chunk %d", i, ops[i], id)
		}
		fresh.Close()
	}
}

func TestNoSpace(t *testing.T) {
	dir := t.TempDir()
	efs := newErrFS()
	efs.filter = func(op string) bool { return op == "writeat" }
	cfg := testConfig(t, dir)
	cfg.FS = efs
	s := openStore(t, cfg)
	data := testData(20*format.BlockSize, 2)
	for i := 0; ; i++ {
		efs.arm(i, true, syscall.ENOSPC)
		err := writeChunk(s, 1, data, i%2 == 0, 3*format.BlockSize)
		if hit, _ := efs.disarm(); !hit {
			break
		}
		if !errors.Is(err, ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("write %d: %v, want ErrNoSpace", i, err)
		}
		if _, err := s.Stat(1); !errors.Is(err, ErrNotFound) {
			t.Fatalf("write %d: chunk visible after ENOSPC", i)
		}
		assertNoTemps(t, dir)
	}
	// A dir without room for the declared size is not even tried.
	efs.statfs = func(u DiskUsage) DiskUsage { u.Avail = 10 * format.BlockSize; return u }
	if _, err := s.Create(2, 10*format.BlockSize); !errors.Is(err, ErrNoSpace) {
		t.Errorf("Create larger than the free space: %v", err)
	}
	mustPut(t, s, 3, make([]byte, format.BlockSize))
}

// TestOpenFailEveryOp fails the i-th operation of the start-up scan: Open
// may fail, but must never lose or damage a good chunk.
func TestOpenFailEveryOp(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, testConfig(t, dir))
	want := map[uint64][]byte{1: testData(100, 1), 2: testData(format.BlockSize+1, 2)}
	for id, data := range want {
		mustPut(t, s, id, data)
	}
	s.Close()
	setup := func() { // a leftover temp and a corrupt chunk, for the scan to clean
		os.WriteFile(filepath.Join(dir, "chunks", "03", format.ChunkName(3)+tempExt), []byte("x"), 0o644)
		os.WriteFile(filepath.Join(dir, "chunks", "04", format.ChunkName(4)), []byte("bad"), 0o644)
	}
	efs := newErrFS()
	// Dir creation and listing fail Open; try their first op only.
	for _, op := range []string{"mkdir", "readdir"} {
		efs.filter = func(o string) bool { return o == op }
		efs.arm(0, false, syscall.EIO)
		cfg := testConfig(t, dir)
		cfg.FS = efs
		if _, err := Open(cfg); !errors.Is(err, syscall.EIO) {
			t.Errorf("%s fails: Open = %v", op, err)
		}
	}
	efs.filter = func(o string) bool { return o != "mkdir" && o != "readdir" }
	for i := 0; ; i++ {
		setup()
		cfg := testConfig(t, dir)
		cfg.FS = efs
		efs.arm(i, false, syscall.EIO)
		s, err := Open(cfg)
		hit, _ := efs.disarm()
		if err == nil {
			s.Close()
		}
		clean := openStore(t, testConfig(t, dir))
		for id, data := range want {
			if !bytes.Equal(mustGet(t, clean, id), data) {
				t.Fatalf("op %d failed: chunk %d damaged", i, id)
			}
		}
		clean.Close()
		if !hit {
			return
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
	w.Write(testData(3*format.BlockSize, 6))
	w.bw.Flush()
	defer w.Abort()
	stray := filepath.Join(dir, "chunks", "07", format.ChunkName(7)+tempExt)
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
		m, _ := filepath.Glob(filepath.Join(dir, "chunks", "*", "*"+format.ChunkExt))
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
		data := testData(3*format.BlockSize, 1)
		file := encodeChunk(42, data)
		pa := filepath.Join(a, "chunks", fanout(42), format.ChunkName(42))
		pb := filepath.Join(b, "chunks", fanout(42), format.ChunkName(42))
		openStore(t, testConfig(t, a, b)).Close() // make the layout
		bad := bytes.Clone(file)
		bad[format.HeaderSize+format.BlockSize+5] ^= 0x10 // passes the cheap check
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

func TestUsage(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	s := openStore(t, testConfig(t, a, b))
	mustPut(t, s, 1, make([]byte, 100))
	mustPut(t, s, 2, make([]byte, format.BlockSize+1))
	used, capacity, err := s.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if want := format.FileSize(100) + format.FileSize(format.BlockSize+1); used != want {
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
	data := testData(2*format.BlockSize+3, 5)
	mustPut(t, s, 5, data)
	if !bytes.Equal(mustGet(t, s, 5), data) {
		t.Fatal("data differs")
	}
}
