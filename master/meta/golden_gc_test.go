package meta

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/snapstream"
)

// testdata/snapshot_legacy_gc.golden is the golden state's snapshot as
// releases before the chunk index's x/ prefix wrote it: chunk 2's
// finished deletion is the g/ entry "d". It is never rewritten. A replica
// that installs it, or opens a state of that layout, ends with today's
// state.golden, where that entry is x/.

// TestGoldenLegacyGCSnapshot: the old snapshot restores to the current
// layout and answers as before.
func TestGoldenLegacyGCSnapshot(t *testing.T) {
	tf := newTestFSM(t)
	if err := tf.f.Restore(nopCloser{bytes.NewReader(readGolden(t, "snapshot_legacy_gc.golden"))}); err != nil {
		t.Fatalf("restore the legacy snapshot: %v", err)
	}
	if got, want := stateText(t, tf.f), readGolden(t, "state.golden"); !bytes.Equal(got, want) {
		t.Errorf("the legacy snapshot restores to another state:\n got %s\nwant %s", got, want)
	}
	tf.index = tf.f.Applied()
	checkLegacyGC(t, tf)
}

// TestOpenMovesLegacyTombstones: a state directory of the old layout
// opens as the current layout, and opening it again changes nothing.
func TestOpenMovesLegacyTombstones(t *testing.T) {
	dir := t.TempDir()
	db, err := openBadger(filepath.Join(dir, "state"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	sr, err := snapstream.NewReader(bytes.NewReader(readGolden(t, "snapshot_legacy_gc.golden")))
	if err != nil {
		t.Fatal(err)
	}
	if err := loadRecords(db, sr); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		f, err := Open(dir, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := stateText(t, f), readGolden(t, "state.golden"); !bytes.Equal(got, want) {
			t.Errorf("the legacy state opens as another state:\n got %s\nwant %s", got, want)
		}
		if got := f.Applied(); got != uint64(len(goldenLog())) {
			t.Errorf("applied index %d, want %d", got, len(goldenLog()))
		}
		if i == 1 {
			checkLegacyGC(t, &testFSM{t: t, f: f, index: f.Applied()})
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// checkLegacyGC: chunk 2 (deleted for good) is neither queued nor
// committable; 3 and 4 are still queued.
func checkLegacyGC(t *testing.T, tf *testFSM) {
	t.Helper()
	q, err := tf.f.GCChunks()
	if err != nil || len(q) != 2 || !q[3] || !q[4] {
		t.Errorf("queued %v, %v; want 3 and 4", q, err)
	}
	d, err := tf.f.Deleted([]proto.ChunkID{1, 2, 3, 4})
	if err != nil || len(d) != 1 || !d[2] {
		t.Errorf("deleted %v, %v; want 2", d, err)
	}
	obj := goldenChunked("bk1", "reuse", 2, 1)
	tf.refused(OpPutObject, PutObject{Object: obj}, ErrInvalid)
}
