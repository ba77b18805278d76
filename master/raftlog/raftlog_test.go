package raftlog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// entry is the test entry of index i: its size and fields vary with i.
func entry(i uint64) *raft.Log {
	l := &raft.Log{Index: i, Term: 1 + i/10, Type: raft.LogType(i % 4), Data: bytes.Repeat([]byte{byte(i)}, int(i%37))}
	if i%3 == 0 {
		l.Extensions = []byte(fmt.Sprintf("ext-%d", i))
	}
	if i%2 == 0 {
		l.AppendedAt = time.Unix(1700000000, int64(i)).UTC()
	}
	return l
}

func entries(from, to uint64) []*raft.Log {
	var ls []*raft.Log
	for i := from; i <= to; i++ {
		ls = append(ls, entry(i))
	}
	return ls
}

func open(t *testing.T, dir string, size int64) *Store {
	t.Helper()
	s, err := Open(dir, Options{SegmentSize: size})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// check reads from to to back and compares them, and the bounds.
func check(t *testing.T, s *Store, from, to uint64) {
	t.Helper()
	first, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	if first != from || last != to {
		t.Fatalf("log holds %d to %d, want %d to %d", first, last, from, to)
	}
	for i := from; i <= to && i > 0; i++ {
		var got raft.Log
		if err := s.GetLog(i, &got); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		want := entry(i)
		if got.Index != want.Index || got.Term != want.Term || got.Type != want.Type || !bytes.Equal(got.Data, want.Data) ||
			!bytes.Equal(got.Extensions, want.Extensions) || !got.AppendedAt.Equal(want.AppendedAt) {
			t.Fatalf("entry %d: got %+v, want %+v", i, got, want)
		}
	}
	var l raft.Log
	if err := s.GetLog(to+1, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("entry past the end: %v", err)
	}
	if from > 1 {
		if err := s.GetLog(from-1, &l); !errors.Is(err, raft.ErrLogNotFound) {
			t.Fatalf("entry before the start: %v", err)
		}
	}
}

func segments(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+suffix))
	if err != nil {
		t.Fatal(err)
	}
	for i := range names {
		names[i] = filepath.Base(names[i])
	}
	return names
}

// TestStoreReadReopen: entries stored in batches of every size land in
// many small segments, read back exactly, also after a reopen, and the
// log refuses an entry out of order.
func TestStoreReadReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 512)
	if first, _ := s.FirstIndex(); first != 0 {
		t.Fatalf("a new log starts at %d", first)
	}
	next := uint64(5) // an empty log takes any first index (after a snapshot)
	for n := uint64(1); n <= 12; n++ {
		if err := s.StoreLogs(entries(next, next+n-1)); err != nil {
			t.Fatal(err)
		}
		next += n
	}
	if err := s.StoreLog(entry(next)); err != nil {
		t.Fatal(err)
	}
	check(t, s, 5, next)
	if len(segments(t, dir)) < 3 {
		t.Fatalf("%d segments: the test means to cross several", len(segments(t, dir)))
	}
	for _, bad := range []uint64{next, next + 2, 1} {
		if err := s.StoreLog(entry(bad)); err == nil {
			t.Fatalf("entry %d stored after %d", bad, next)
		}
	}
	big := entry(next + 1)
	big.Data = bytes.Repeat([]byte("x"), 2000) // larger than a segment: one of its own
	if err := s.StoreLogs([]*raft.Log{big, entry(next + 2)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.StoreLog(entry(next + 3)); err == nil {
		t.Fatal("stored after Close")
	}
	s = open(t, dir, 512)
	var got raft.Log
	if err := s.GetLog(next+1, &got); err != nil || !bytes.Equal(got.Data, big.Data) {
		t.Fatalf("the big entry after reopening: %v", err)
	}
	if err := s.DeleteRange(next+1, next+2); err != nil {
		t.Fatal(err)
	}
	check(t, s, 5, next)
}

// TestDeleteHeadTailAll: a head delete drops whole segments below the
// new first index, a tail delete makes its entries unreadable for good
// (also after a reopen) and the log goes on from there, deleting it all
// lets it start at any index, and a range in the middle is refused.
func TestDeleteHeadTailAll(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 400)
	if err := s.StoreLogs(entries(1, 100)); err != nil {
		t.Fatal(err)
	}
	before := len(segments(t, dir))
	if err := s.DeleteRange(1, 60); err != nil {
		t.Fatal(err)
	}
	check(t, s, 61, 100)
	if after := len(segments(t, dir)); after >= before {
		t.Fatalf("head delete left %d of %d segments", after, before)
	}
	if err := s.DeleteRange(70, 80); err == nil {
		t.Fatal("a range in the middle was deleted")
	}
	if err := s.DeleteRange(91, 100); err != nil {
		t.Fatal(err)
	}
	check(t, s, 61, 90)
	// A conflicting tail is replaced: the new entry 91 has another term.
	repl := entry(91)
	repl.Term = 99
	if err := s.StoreLogs([]*raft.Log{repl}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir, 400)
	first, _ := s.FirstIndex()
	if first < 1 || first > 61 {
		t.Fatalf("first index %d after reopening (entries below 61 may stay, none above)", first)
	}
	var got raft.Log
	if err := s.GetLog(91, &got); err != nil || got.Term != 99 {
		t.Fatalf("entry 91 after reopening: %+v %v", got, err)
	}
	if err := s.GetLog(92, &got); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("deleted entry 92 came back: %+v %v", got, err)
	}
	// Delete a tail that starts exactly at a segment's first entry.
	var segFirst uint64
	for _, g := range s.segs[1:] {
		segFirst = g.first
	}
	if err := s.DeleteRange(segFirst, 91); err != nil {
		t.Fatal(err)
	}
	if last, _ := s.LastIndex(); last != segFirst-1 {
		t.Fatalf("last %d after deleting from %d", last, segFirst)
	}
	if err := s.StoreLogs(entries(segFirst, segFirst+3)); err != nil {
		t.Fatal(err)
	}
	// Delete everything: the log is empty and starts anywhere.
	if err := s.DeleteRange(0, 1000); err != nil {
		t.Fatal(err)
	}
	check(t, s, 0, 0)
	if n := len(segments(t, dir)); n != 0 {
		t.Fatalf("%d segments after deleting all", n)
	}
	if err := s.StoreLogs(entries(500, 510)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	check(t, open(t, dir, 400), 500, 510)
}

// TestEveryCrashPoint cuts the last segment at every byte of its last
// batch, as a crash during that write may leave it (the bytes from the
// cut on never reached the disk: zeros), and also leaves garbage there
// instead: each time the log opens to exactly the entries wholly before
// the cut, appends after them, and keeps those after another reopen.
func TestEveryCrashPoint(t *testing.T) {
	src := t.TempDir()
	s := open(t, src, 4096)
	if err := s.StoreLogs(entries(1, 10)); err != nil {
		t.Fatal(err)
	}
	batchStart := s.lastSegment().end
	if err := s.StoreLogs(entries(11, 16)); err != nil {
		t.Fatal(err)
	}
	g := s.lastSegment()
	offs, end := slices.Clone(g.offs), g.end
	name := segmentName(g.first)
	s.Close()
	data, err := os.ReadFile(filepath.Join(src, name))
	if err != nil {
		t.Fatal(err)
	}
	for _, garbage := range []bool{false, true} {
		for cut := batchStart; cut <= end; cut++ {
			dir := t.TempDir()
			torn := slices.Clone(data)
			for i := cut; i < end; i++ {
				torn[i] = 0
				if garbage {
					torn[i] = byte(i*7 + 1)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, name), torn, 0o600); err != nil {
				t.Fatal(err)
			}
			whole := uint64(0) // entries wholly before the cut
			for i, off := range offs {
				next := end
				if i+1 < len(offs) {
					next = offs[i+1]
				}
				if next <= cut && off < cut {
					whole = g.first + uint64(i)
				}
			}
			s, err := Open(dir, Options{SegmentSize: 4096})
			if err != nil {
				t.Fatalf("cut at %d (garbage %v): %v", cut, garbage, err)
			}
			check(t, s, 1, whole)
			if err := s.StoreLogs(entries(whole+1, 20)); err != nil {
				t.Fatal(err)
			}
			s.Close()
			s, err = Open(dir, Options{SegmentSize: 4096})
			if err != nil {
				t.Fatalf("reopen after cut at %d: %v", cut, err)
			}
			check(t, s, 1, 20)
			s.Close()
		}
	}
}

// TestDamage: a flipped byte in a segment before the last one refuses
// the log on open (those entries were acknowledged; no crash tears
// them), and a flipped byte found when reading is an error, never an
// entry.
func TestDamage(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 300)
	if err := s.StoreLogs(entries(1, 40)); err != nil {
		t.Fatal(err)
	}
	g := s.segs[0]
	off := g.offs[1] + recordHeader + 3 // inside entry 2's index
	s.Close()
	flip := func() {
		f, err := os.OpenFile(filepath.Join(dir, segmentName(g.first)), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 1)
		f.ReadAt(b, off)
		b[0] ^= 0x40
		f.WriteAt(b, off)
		f.Close()
	}
	flip()
	if _, err := Open(dir, Options{SegmentSize: 300}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open with a damaged early segment: %v", err)
	}
	flip() // back to good
	s = open(t, dir, 300)
	check(t, s, 1, 40)
	flip() // damaged while open
	var l raft.Log
	if err := s.GetLog(2, &l); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("read of a damaged entry: %+v, %v", l, err)
	}
	if err := s.GetLog(3, &l); err != nil {
		t.Fatalf("the entry after it: %v", err)
	}
}

// TestReadsDuringWrites: readers of every stored entry run while batches
// are appended and the head is deleted (run with -race).
func TestReadsDuringWrites(t *testing.T) {
	s := open(t, t.TempDir(), 2048)
	if err := s.StoreLogs(entries(1, 10)); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				first, _ := s.FirstIndex()
				last, _ := s.LastIndex()
				for i := first; i <= last; i++ {
					var l raft.Log
					err := s.GetLog(i, &l)
					if errors.Is(err, raft.ErrLogNotFound) {
						continue // deleted from the head meanwhile
					}
					if err != nil || l.Index != i || !bytes.Equal(l.Data, entry(i).Data) {
						errs <- fmt.Errorf("entry %d: %+v %v", i, l, err)
						return
					}
				}
			}
		}()
	}
	for next := uint64(11); next < 600; next += 7 {
		if err := s.StoreLogs(entries(next, next+6)); err != nil {
			t.Fatal(err)
		}
		if next%70 == 4 {
			if err := s.DeleteRange(1, next-50); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestSpareSegment: the next segment is zeroed ahead in the background;
// a spare left by a stop is removed on open, and a segment created but
// never written (all zeros) is dropped rather than refused.
func TestSpareSegment(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 1024)
	next := uint64(1)
	// Past a few rotations, and on until the active segment is half
	// full, when its successor starts being prepared.
	for next < 200 || s.lastSegment().end < 512 {
		if err := s.StoreLogs(entries(next, next+4)); err != nil {
			t.Fatal(err)
		}
		next += 5
	}
	if err := s.StoreLog(entry(next)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, spareName)); err != nil {
		t.Fatalf("no spare segment was prepared: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, segmentName(1000)), make([]byte, 1024), 0o600); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, 1024)
	check(t, s, 1, next)
	if _, err := os.Stat(filepath.Join(dir, spareName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("spare left after open: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, segmentName(1000))); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("zeroed segment left after open: %v", err)
	}
	if err := s.StoreLogs(entries(next+1, next+60)); err != nil {
		t.Fatal(err)
	}
	check(t, s, 1, next+60)
}

// TestMigrateFromBolt: a log kept in raft-boltdb (every master's before
// this package) moves into segment files on the first open, with its
// terms and votes left where they were; a crash before the rename (a
// leftover .migrating folder) is redone, and one after it (entries
// still in the old store) only finishes the delete.
func TestMigrateFromBolt(t *testing.T) {
	for _, crash := range []string{"", "before rename", "after rename"} {
		t.Run(crash, func(t *testing.T) {
			dir := t.TempDir()
			bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "log.db")})
			if err != nil {
				t.Fatal(err)
			}
			defer bolt.Close()
			if err := bolt.StoreLogs(entries(3, 300)); err != nil {
				t.Fatal(err)
			}
			if err := bolt.SetUint64([]byte("CurrentTerm"), 7); err != nil {
				t.Fatal(err)
			}
			wal := filepath.Join(dir, "log")
			switch crash {
			case "before rename":
				if err := os.MkdirAll(wal+".migrating", 0o700); err != nil {
					t.Fatal(err)
				}
				os.WriteFile(filepath.Join(wal+".migrating", segmentName(3)), []byte("half a copy"), 0o600)
			case "after rename":
				if err := copyLog(wal, bolt, 3, 300, Options{}); err != nil {
					t.Fatal(err)
				}
			}
			s, err := OpenMigrating(wal, bolt, Options{SegmentSize: 4096})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			check(t, s, 3, 300)
			if last, _ := bolt.LastIndex(); last != 0 {
				t.Fatalf("old store still holds up to %d", last)
			}
			if term, err := bolt.GetUint64([]byte("CurrentTerm")); err != nil || term != 7 {
				t.Fatalf("term %d, %v", term, err)
			}
			if _, err := os.Stat(wal + ".migrating"); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("migration folder left: %v", err)
			}
			s.Close()
			s, err = OpenMigrating(wal, bolt, Options{SegmentSize: 4096}) // later starts: nothing to move
			if err != nil {
				t.Fatal(err)
			}
			check(t, s, 3, 300)
		})
	}
}

// TestTornTailIsZeroed: when the tail is cut at a bad record that whole
// records follow (a torn batch whose later pages reached the disk), those
// are zeroed, so an entry appended in the bad one's place, of the same
// size, does not bring them back on the next open.
func TestTornTailIsZeroed(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, 4096)
	if err := s.StoreLogs(entries(1, 16)); err != nil {
		t.Fatal(err)
	}
	g := s.lastSegment()
	off, path := g.offs[11]+recordHeader+20, g.path // inside entry 12
	s.Close()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte{0xff}, off)
	f.Close()
	s = open(t, dir, 4096)
	check(t, s, 1, 11)
	again := entry(12)
	again.Term = 50
	if err := s.StoreLog(again); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir, 4096)
	if last, _ := s.LastIndex(); last != 12 {
		t.Fatalf("entries after the torn one came back: the log ends at %d", last)
	}
}
