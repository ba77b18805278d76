package disk

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// Tests of compaction: dead records rewritten away, restarts merged,
// crashes mid-compaction, space given back.

// Compaction rewrites the volumes that are mostly dead: the live chunks
// move to the active volume, the files go, the used bytes shrink, and
// everything reads the same, before and after a restart. A Reader opened
// before keeps reading the removed file.
func TestPackedCompaction(t *testing.T) {
	dir := t.TempDir()
	cfg := packConfig(t, dir)
	s := openStore(t, cfg)
	want := putMany(t, s, 1, 60)
	before := len(volumeFiles(t, dir))
	reader, err := s.Open(2)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	for id := range want {
		if id%4 != 0 { // keep a quarter
			if err := s.Delete(id); err != nil {
				t.Fatal(err)
			}
			delete(want, id)
		}
	}
	usedBefore, _, _ := s.Usage()
	n, err := s.Compact(0.5)
	if err != nil || n == 0 {
		t.Fatalf("Compact = %d, %v", n, err)
	}
	usedAfter, _, _ := s.Usage()
	if after := len(volumeFiles(t, dir)); after >= before || usedAfter >= usedBefore/2 {
		t.Fatalf("volumes %d -> %d, used %d -> %d", before, after, usedBefore, usedAfter)
	}
	var sum int64
	for _, f := range volumeFiles(t, dir) {
		fi, _ := os.Stat(f)
		sum += fi.Size()
	}
	if sum != usedAfter {
		t.Fatalf("Usage says %d used, the volumes hold %d", usedAfter, sum)
	}
	got := make([]byte, reader.Size())
	if _, err := reader.ReadAt(got, 0); err != nil || !bytes.Equal(got, testData(format.BlockSize-2, 2)) {
		t.Fatalf("a reader opened before compaction: %v", err)
	}
	check := func(s *Store) {
		t.Helper()
		if ids := listIDs(s); len(ids) != len(want) {
			t.Fatalf("%d chunks, want %d", len(ids), len(want))
		}
		readsBack(t, s, want)
	}
	check(s)
	if n, err := s.Compact(0.5); err != nil || n != 0 {
		t.Fatalf("second Compact = %d, %v; nothing is due", n, err)
	}
	s.Close()
	check(openStore(t, cfg))
}

// With Config.CompactBelow set, the store compacts on its own once deletes
// leave a closed volume mostly dead.
func TestPackedBackgroundCompaction(t *testing.T) {
	dir := t.TempDir()
	cfg := packConfig(t, dir)
	cfg.CompactBelow = 0.5
	s := openStore(t, cfg)
	want := putMany(t, s, 1, 40)
	first := volumeFiles(t, dir)[0]
	for id := range want {
		if path, _, _, _ := s.Locate(id); path == first && id != 2 {
			if err := s.Delete(id); err != nil {
				t.Fatal(err)
			}
			delete(want, id)
		}
	}
	waitFor(t, func() bool { _, err := os.Stat(first); return errors.Is(err, os.ErrNotExist) })
	readsBack(t, s, want)
}

// Every Open closes the volume that was open, so restarts leave small
// volumes; compaction merges them into the open volume.
func TestPackedRestartsMerge(t *testing.T) {
	dir := t.TempDir()
	cfg := packConfig(t, dir)
	want := map[uint64][]byte{}
	for round := range 4 {
		s := openStore(t, cfg)
		for k := range 3 {
			id := uint64(round*10 + k + 1)
			want[id] = testData(500, id)
			mustPut(t, s, id, want[id])
		}
		s.Close()
	}
	if n := len(volumeFiles(t, dir)); n != 4 {
		t.Fatalf("%d volumes after 4 runs, want 4", n)
	}
	s := openStore(t, cfg)
	if n, err := s.Compact(0); n != 4 || err != nil {
		t.Fatalf("Compact = %d, %v; want the 4 small volumes merged", n, err)
	}
	if n := len(volumeFiles(t, dir)); n != 1 {
		t.Fatalf("%d volumes after the merge, want 1", n)
	}
	readsBack(t, s, want)
}

// A crash after compaction copied a record but before it removed the old
// volume leaves two copies: the scan keeps one, and a delete of the kept
// copy does not bring the older one back after the next restart.
func TestPackedCompactionCrashDuplicates(t *testing.T) {
	dir := t.TempDir()
	cfg := packConfig(t, dir)
	s := openStore(t, cfg)
	data := testData(3000, 5)
	mustPut(t, s, 5, data)
	mustPut(t, s, 6, testData(10, 6))
	s.Close()
	// The copy compaction would have made, in a newer volume.
	copyVol := append(format.EncodeVolumeHeader(9), format.EncodeRecord(5, data)...)
	copyVol = append(copyVol, format.EncodeEnd()...)
	os.WriteFile(filepath.Join(dir, "volumes", format.VolumeName(9)), copyVol, 0o644)

	s = openStore(t, cfg)
	if path, off, _, _ := s.Locate(5); filepath.Base(path) != format.VolumeName(9) || off != format.VolHeaderSize+format.RecordPrefix(3000) {
		t.Fatalf("kept copy %s at %d, want the newer one", path, off)
	}
	if !bytes.Equal(mustGet(t, s, 5), data) || len(s.List()) != 2 {
		t.Fatalf("chunks %v", s.List())
	}
	if err := s.Delete(5); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openStore(t, cfg)
	if _, err := s.Stat(5); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the older copy of a deleted chunk came back: %v", err)
	}
	if !bytes.Equal(mustGet(t, s, 6), testData(10, 6)) {
		t.Fatal("chunk 6 differs")
	}
}

// A tombstone in one volume deleting a record in another outlives the
// compaction of its own volume while the other one stays: the chunk stays
// deleted after a restart.
func TestPackedTombstoneOutlivesItsVolume(t *testing.T) {
	dir := t.TempDir()
	cfg := packConfig(t, dir)
	s := openStore(t, cfg)
	for id := uint64(1); id <= 3; id++ {
		mustPut(t, s, id, testData(60_000, id)) // volume 1, not small
	}
	s.Close()
	s = openStore(t, cfg)
	if err := s.Delete(2); err != nil { // the tombstone goes to volume 2
		t.Fatal(err)
	}
	s.Close()
	s = openStore(t, cfg)
	if n, err := s.Compact(0.5); n != 1 || err != nil { // volume 2 only: small
		t.Fatalf("Compact = %d, %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "volumes", format.VolumeName(1))); err != nil {
		t.Fatalf("volume 1: %v", err)
	}
	s.Close()
	s = openStore(t, cfg)
	if _, err := s.Stat(2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted chunk 2 came back: %v", err)
	}
	if got := listIDs(s); fmt.Sprint(got) != "[1 3]" {
		t.Fatalf("chunks %v", got)
	}
}

// Once every chunk is deleted, the background compaction gives every byte
// back, the open volume's too, even with tombstones in one volume naming
// records in another.
func TestPackedSpaceComesBack(t *testing.T) {
	dir := t.TempDir()
	cfg := packConfig(t, dir)
	cfg.CompactBelow = 0.5
	s := openStore(t, cfg)
	want := putMany(t, s, 1, 30)
	s.Close()
	s = openStore(t, cfg)
	for id := uint64(31); id <= 40; id++ {
		mustPut(t, s, id, testData(100, id))
		want[id] = nil
	}
	for id := range want {
		if err := s.Delete(id); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool {
		used, _, _ := s.Usage()
		return used == 0 && len(volumeFiles(t, dir)) == 0
	})
	mustPut(t, s, 50, testData(100, 50))
	s.Close()
	if got := listIDs(openStore(t, cfg)); fmt.Sprint(got) != "[50]" {
		t.Fatalf("after a restart: %v", got)
	}
}

// TestPackedCompactFailEveryOp fails the i-th disk operation of a
// compaction, for every i: Compact may fail, but every chunk still reads
// back, now and after a restart, and none comes back from the dead.
func TestPackedCompactFailEveryOp(t *testing.T) {
	for i := 0; ; i++ {
		dir := t.TempDir()
		efs := newErrFS()
		cfg := packConfig(t, dir)
		cfg.FS, cfg.NoSync = efs, false
		s := openStore(t, cfg)
		want := putMany(t, s, 1, 30)
		first := volumeFiles(t, dir)[0]
		for id := range want {
			if path, _, _, _ := s.Locate(id); path == first && id%5 != 0 {
				if err := s.Delete(id); err != nil {
					t.Fatal(err)
				}
				delete(want, id)
			}
		}
		efs.arm(i, false, syscall.EIO)
		_, err := s.Compact(0.5)
		hit, ops := efs.disarm()
		check := func(s *Store, when string) {
			t.Helper()
			if got := len(s.List()); got != len(want) {
				t.Fatalf("op %d (%v) failed, %s: %d chunks, want %d", i, err, when, got, len(want))
			}
			for id, data := range want {
				if !bytes.Equal(mustGet(t, s, id), data) {
					t.Fatalf("op %d (%v) failed, %s: chunk %d differs", i, err, when, id)
				}
			}
		}
		check(s, "at once")
		for id := range want { // a copy the failed compaction left must not bring it back
			if err := s.Delete(id); err != nil {
				t.Fatal(err)
			}
			delete(want, id)
			break
		}
		s.Close()
		clean := cfg
		clean.FS = OSFS()
		s = openStore(t, clean)
		check(s, "restarted")
		if _, err := s.Compact(0.5); err != nil { // and a compaction that works
			t.Fatal(err)
		}
		check(s, "compacted again")
		s.Close()
		check(openStore(t, clean), "restarted again")
		if !hit {
			t.Logf("%d operations: %v", i, ops)
			return
		}
	}
}
