package disk

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// zeroConfig is packConfig with zeros ahead of two records' worth.
func zeroConfig(t testing.TB, dir string) Config {
	cfg := packConfig(t, dir)
	cfg.VolumeMax = 64 * format.RecordSize(cfg.PackMax)
	cfg.ZeroAhead = 2 * format.RecordSize(cfg.PackMax)
	cfg.NoSync = false
	return cfg
}

// waitZeroed waits until no zeroing runs in a and at least n bytes of
// zeros lie past its records.
func waitZeroed(t *testing.T, a *appender, n int64) {
	t.Helper()
	waitFor(t, func() bool { a.mu.Lock(); defer a.mu.Unlock(); return a.zeroTo == 0 && a.zeroed >= a.end+n })
}

// fileSize returns the length of the file at path.
func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// An active volume keeps zeros written past its records, which count
// against the store's usage; records land over them and read back; a
// crash leaves them as a tail the scan cuts; a volume that closes is cut
// to its end record.
func TestZeroAhead(t *testing.T) {
	dir := t.TempDir()
	cfg := zeroConfig(t, dir)
	s := openStore(t, cfg)
	want := map[uint64][]byte{}
	put := func(id uint64) {
		t.Helper()
		want[id] = testData(1000+int(id)*37, id)
		mustPut(t, s, id, want[id])
	}
	put(1)
	vol := volumeFiles(t, dir)[0]
	v := s.packers[0].cur.vol
	records := func() int64 {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return v.size
	}
	// The zeros arrive in the background after the first record.
	a := s.packers[0].cur
	waitZeroed(t, a, cfg.ZeroAhead/2)
	tail := make([]byte, fileSize(t, vol)-records())
	f, err := os.Open(vol)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(tail, records()); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if !bytes.Equal(tail, make([]byte, len(tail))) {
		t.Fatal("the bytes past the records are not zeros")
	}
	used, _, err := s.Usage()
	if err != nil || used != fileSize(t, vol) {
		t.Fatalf("Usage() = %d, %v; want the volume file's %d bytes, zeros included", used, err, fileSize(t, vol))
	}
	for id := uint64(2); id <= 12; id++ {
		put(id)
	}
	readsBack(t, s, want)

	// A crash now: a copy of the data dir as it is, zeros and all.
	crashed := t.TempDir()
	for _, sub := range []string{"volumes"} {
		if err := os.MkdirAll(filepath.Join(crashed, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(vol)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) <= records() {
		t.Fatalf("no zeros past the records to crash with (%d bytes, %d of records)", len(b), records())
	}
	if err := os.WriteFile(filepath.Join(crashed, "volumes", filepath.Base(vol)), b, 0o644); err != nil {
		t.Fatal(err)
	}
	c := openStore(t, zeroConfig(t, crashed))
	holdsExactly(t, c, want)
	c.Close()

	s.Close()
	if got, end := fileSize(t, vol), records(); got != end {
		t.Fatalf("closed volume is %d bytes; want %d, cut to its end record", got, end)
	}
	r := openStore(t, cfg)
	holdsExactly(t, r, want)
}

// Zeros ahead never take the store past its capacity: they count, so
// the chunk files that fill it leave room for them, and the files on disk
// stay within it.
func TestZeroAheadWithinCapacity(t *testing.T) {
	dir := t.TempDir()
	cfg := zeroConfig(t, dir)
	cfg.Capacity = 3 << 20
	s := openStore(t, cfg)
	mustPut(t, s, 1, testData(1000, 1)) // packed: zeros ahead follow it
	a := s.packers[0].cur
	waitZeroed(t, a, 1)
	big := testData(int(cfg.PackMax)+1, 2) // a chunk file each
	full := false
	for id := uint64(2); id < 100 && !full; id++ {
		err := writeChunk(s, id, big, true, 1<<20)
		full = errors.Is(err, ErrNoSpace)
		if err != nil && !full {
			t.Fatal(err)
		}
	}
	if !full {
		t.Fatal("the store never filled")
	}
	var onDisk int64
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			onDisk += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if onDisk > cfg.Capacity {
		t.Fatalf("files take %d bytes, past the capacity of %d", onDisk, cfg.Capacity)
	}
}

// Records written by many writers at once, while zeros are written ahead
// of them, are never zeroed over: the ones that land where a zeroing runs
// wait for it.
func TestZeroAheadUnderConcurrentWrites(t *testing.T) {
	dir := t.TempDir()
	cfg := zeroConfig(t, dir)
	cfg.ZeroAhead = 4 << 20
	cfg.VolumeMax = 64 << 20
	s := openStore(t, cfg)
	const writers, each = 8, 40
	want := make([]map[uint64][]byte, writers)
	errs := make(chan error, writers)
	for w := range writers {
		want[w] = map[uint64][]byte{}
		go func() {
			for i := range each {
				id := uint64(w*each + i + 1)
				data := testData(2000+i, id)
				if err := writeChunk(s, id, data, true, 1<<20); err != nil {
					errs <- err
					return
				}
				want[w][id] = data
			}
			errs <- nil
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	all := map[uint64][]byte{}
	for _, m := range want {
		for id, data := range m {
			all[id] = data
		}
	}
	holdsExactly(t, s, all)
	s.Close()
	holdsExactly(t, openStore(t, cfg), all)
}

// Only small records ask for zeros ahead: a large record's cost is its
// bytes, which zeros would double.
func TestZeroAheadOnlyForSmallRecords(t *testing.T) {
	dir := t.TempDir()
	cfg := zeroConfig(t, dir)
	cfg.PackMax = 1 << 20
	cfg.VolumeMax = 64 << 20
	s := openStore(t, cfg)
	mustPut(t, s, 1, testData(zeroAheadMaxRecord, 1)) // its record is larger
	a := s.packers[0].cur
	a.mu.Lock()
	zeroing, zeroed := a.zeroing, a.zeroed
	a.mu.Unlock()
	if zeroing || zeroed != format.VolHeaderSize {
		t.Fatalf("a large record started zeros ahead (zeroing %v, zeroed to %d)", zeroing, zeroed)
	}
	mustPut(t, s, 2, testData(1000, 2))
	waitZeroed(t, a, 1)
	readsBack(t, s, map[uint64][]byte{1: testData(zeroAheadMaxRecord, 1), 2: testData(1000, 2)})
}
