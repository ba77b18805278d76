package disk

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A chunk whose file disappears while the store runs (deleted by hand, or
// its directory lost) is a lost replica: every read, verify and stat says
// Corrupt and the store reports it, so the master re-creates it; the
// master's later delete then succeeds and forgets it.
func TestMissingFileIsALostReplica(t *testing.T) {
	s, dir := newStore(t)
	for id := uint64(1); id <= 3; id++ {
		if err := writeChunk(s, id, testData(5000, id), true, 1000); err != nil {
			t.Fatal(err)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "chunks", "*", chunkName(2)))
	if len(matches) != 1 {
		t.Fatalf("chunk 2's file: %v", matches)
	}
	if err := os.Remove(matches[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(2); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("verify of a chunk whose file is gone: %v", err)
	}
	if _, err := s.Stat(2); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("stat of a chunk whose file is gone: %v", err)
	}
	if _, err := s.ReadRange(2, 0, 10, discard{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("read of a chunk whose file is gone: %v", err)
	}
	if got := s.Corrupt(); !slices.Equal(got, []uint64{2}) {
		t.Fatalf("corrupt chunks %v, want [2]", got)
	}
	for _, id := range []uint64{1, 3} {
		if err := s.Verify(id); err != nil {
			t.Fatalf("chunk %d: %v", id, err)
		}
	}
	if err := s.Delete(2); err != nil {
		t.Fatalf("delete of the lost chunk: %v", err)
	}
	if _, err := s.Stat(2); !errors.Is(err, ErrNotFound) || len(s.Corrupt()) != 0 {
		t.Fatalf("after delete: %v, corrupt %v", err, s.Corrupt())
	}
}
