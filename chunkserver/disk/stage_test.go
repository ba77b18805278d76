package disk

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// stagedWriter creates chunk id of data and stages it.
func stagedWriter(t *testing.T, s *Store, id uint64, data []byte) *Writer {
	t.Helper()
	w, err := s.Create(id, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Abort() })
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Stage(); err != nil {
		t.Fatal(err)
	}
	return w
}

// Staged records are written but neither durable nor visible, and no
// fsync runs for them until a Commit waits; the first Commit's group
// commit then covers every record staged before it, so three staged
// chunks cost one fsync, and each Commit after that returns at once.
func TestStagedShareOneFsync(t *testing.T) {
	dir := t.TempDir()
	g := &gateFS{FS: OSFS(), gate: make(chan struct{}), waited: make(chan struct{}, 1)}
	close(g.gate)
	cfg := packConfig(t, dir)
	cfg.FS, cfg.NoSync = g, false
	s := openStore(t, cfg)
	want := map[uint64][]byte{}
	var ws []*Writer
	for id := uint64(1); id <= 3; id++ {
		want[id] = testData(1000+int(id), id)
		ws = append(ws, stagedWriter(t, s, id, want[id]))
	}
	if _, err := s.Stat(1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a staged chunk is visible before its Commit: %v", err)
	}
	if syncs := g.count(); syncs != 0 {
		t.Fatalf("%d volume fsyncs before any Commit, want 0", syncs)
	}
	for _, w := range ws {
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	if syncs := g.count(); syncs != 1 {
		t.Fatalf("%d volume fsyncs for three staged chunks, want 1", syncs)
	}
	readsBack(t, s, want)
	s.Close()
	holdsExactly(t, openStore(t, cfg), want)
}

// A staged chunk that is aborted leaves nothing behind: it is not
// visible, its record is void after a restart, and it holds no use of
// the volume (Close does not wait for it).
func TestStagedAbort(t *testing.T) {
	dir := t.TempDir()
	cfg := packConfig(t, dir)
	cfg.NoSync = false
	s := openStore(t, cfg)
	kept := map[uint64][]byte{1: testData(500, 1)}
	mustPut(t, s, 1, kept[1])
	w := stagedWriter(t, s, 2, testData(700, 2))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Commit after Abort: %v, want ErrClosed", err)
	}
	if _, err := s.Stat(2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an aborted staged chunk is visible: %v", err)
	}
	kept[3] = testData(300, 3)
	mustPut(t, s, 3, kept[3])
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	holdsExactly(t, openStore(t, cfg), kept)
}

// syncers counts the goroutines running a volume's syncer.
func syncers() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "disk.(*appender).syncLoop")
}

// Each volume being written has one syncer, which stops when the volume
// closes: on rotation (once its last record is committed) and at Close.
// The package's other tests close their stores, so none is left running
// (a syncer just stopped may still be on its way out: waited for).
func TestSyncerStopsWithItsVolume(t *testing.T) {
	waitFor(t, func() bool { return syncers() == 0 })
	const before = 0
	cfg := packConfig(t, t.TempDir())
	cfg.NoSync = false
	s := openStore(t, cfg)
	putMany(t, s, 1, 60) // about 24 of these fill a volume
	if n := len(volumeFiles(t, cfg.Dirs[0])); n < 3 {
		t.Fatalf("%d volumes, want several", n)
	}
	waitFor(t, func() bool { return syncers()-before == 1 })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return syncers() == before })

	// Without fsyncs there is no syncer at all.
	cfg = packConfig(t, t.TempDir())
	s = openStore(t, cfg)
	putMany(t, s, 1, 10)
	if n := syncers(); n != before {
		t.Fatalf("%d syncers with NoSync, want %d", n, before)
	}
}
