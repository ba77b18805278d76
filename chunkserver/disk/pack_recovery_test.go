package disk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// Tests of packed chunks surviving failure: failed operations, crashes
// (torn tails), damaged or lost volumes, the start-up scan, offline tools.

// TestPackedFailEveryOp writes packed chunks and deletes them, failing the
// i-th disk operation for every i: a Commit or Delete that fails leaves
// the chunk as it was, now and for a fresh Store, and every chunk whose
// Commit returned nil reads back whole, now and after the restart.
//
// With zeros ahead, the zeroing runs beside the writes, so which operation
// is the i-th varies from run to run; what must hold holds whichever fails.
func TestPackedFailEveryOp(t *testing.T) {
	for _, zero := range []bool{false, true} {
		for _, sticky := range []bool{false, true} {
			for _, known := range []bool{true, false} {
				for _, direct := range []bool{false, true} {
					t.Run(fmt.Sprintf("zeroahead=%v/sticky=%v/known=%v/direct=%v", zero, sticky, known, direct), func(t *testing.T) {
						packedFailEveryOp(t, zero, sticky, known, direct)
					})
				}
			}
		}
	}
}

// With direct, the chunks (two blocks and more) are written with direct
// I/O: the i-th operation is also the volume's open for it, the pad
// header and the direct write.
func packedFailEveryOp(t *testing.T, zero, sticky, known, direct bool) {
	dir := t.TempDir()
	efs := newErrFS()
	cfg := packConfig(t, dir)
	cfg.FS, cfg.NoSync = efs, false
	if direct {
		cfg.DirectMin = format.BlockSize
	}
	cfg.VolumeMax = 4 * format.RecordSize(cfg.PackMax) // rotations too
	if zero {
		cfg.ZeroAhead = 2 * format.RecordSize(cfg.PackMax)
	}
	s := openStore(t, cfg)
	committed := map[uint64][]byte{}
	var uncertain uint64 // a chunk whose delete failed on a dead disk: either way
	checkAll := func(s *Store, when string) {
		t.Helper()
		for id, data := range committed {
			if _, err := s.Stat(id); id == uncertain && errors.Is(err, ErrNotFound) {
				continue
			}
			if got := mustGet(t, s, id); !bytes.Equal(got, data) {
				t.Fatalf("%s: committed chunk %d differs", when, id)
			}
		}
	}
	reopen := func() *Store {
		clean := cfg
		clean.FS = OSFS()
		return openStore(t, clean)
	}
	for i := 0; ; i++ {
		id := uint64(i + 1)
		data := testData(2*format.BlockSize+int(id)*100, id)
		efs.arm(i, sticky, syscall.EIO)
		err := writeChunk(s, id, data, known, 10_000)
		hit, ops := efs.disarm()
		if err == nil {
			committed[id] = data
		} else if _, serr := s.Stat(id); !errors.Is(serr, ErrNotFound) {
			t.Fatalf("op %d (%s) failed: chunk visible: %v", i, ops[i], serr)
		}
		// A delete, failing the same way, of the previous chunk.
		var derr error
		uncertain = 0
		if prev := id - 1; committed[prev] != nil {
			efs.arm(i, sticky, syscall.EIO)
			derr = s.Delete(prev)
			efs.disarm()
			if derr == nil {
				delete(committed, prev)
			} else if sticky {
				uncertain = prev
			}
			if derr != nil && !bytes.Equal(mustGet(t, s, prev), committed[prev]) {
				t.Fatalf("op %d failed a delete (%v): chunk %d damaged", i, derr, prev)
			}
		}
		checkAll(s, fmt.Sprintf("op %d", i))
		s.Close() // a data dir takes one store at a time
		fresh := reopen()
		checkAll(fresh, fmt.Sprintf("op %d, restarted", i))
		if err != nil {
			if _, serr := fresh.Stat(id); serr == nil && (!sticky || !bytes.Equal(mustGet(t, fresh, id), data)) {
				t.Fatalf("op %d (%s) failed: a fresh store sees chunk %d", i, ops[i], id)
			}
		}
		fresh.Close()
		if !hit {
			t.Logf("%d operations: %v", i, ops)
			return
		}
		s = openStore(t, cfg)
		for id := range committed {
			if _, err := s.Stat(id); err != nil && id == uncertain {
				delete(committed, id) // a delete whose tombstone made it after all
			}
		}
	}
}

// A crash mid-append leaves a torn record at the end of a volume, and no
// end record: the scan cuts the tail off and closes the volume, and every
// committed chunk reads back. A torn new volume (created, header not yet
// written) is removed.
func TestPackedTornTail(t *testing.T) {
	dir := t.TempDir()
	cfg := packConfig(t, dir)
	s := openStore(t, cfg)
	want := putMany(t, s, 1, 5)
	s.Close()
	vols := volumeFiles(t, dir)
	last := vols[len(vols)-1]
	good, _ := os.Stat(last)
	crashed := good.Size() - int64(len(format.EncodeEnd())) // a crash leaves no end record
	for _, tail := range [][]byte{
		format.EncodeRecord(99, testData(3*format.BlockSize, 99))[:format.RecHeaderSize+10], // torn mid-record
		format.EncodeRecord(99, testData(3*format.BlockSize, 99))[:2*format.BlockSize],      // header and part of the data
		make([]byte, 5000), // zeros: a page that never made it
		[]byte("GRN"),
	} {
		os.Truncate(last, crashed)
		f, _ := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
		f.Write(tail)
		f.Close()
		torn := filepath.Join(dir, "volumes", format.VolumeName(1000))
		os.WriteFile(torn, []byte("GRNVOL"), 0o644)
		openAfterCrash(t, cfg, dir, last, want, func() {
			if fi, _ := os.Stat(last); fi.Size() != good.Size() {
				t.Fatalf("last volume %d bytes after the cut, want %d", fi.Size(), good.Size())
			}
			if _, err := os.Stat(torn); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("torn new volume left: %v", err)
			}
		})
	}
}

// openAfterCrash opens a store on a volume whose tail a test has torn
// (last, the volume with the highest sequence, which lost chunk 99):
// every chunk of want reads back, chunk 99 is not there, nothing is
// corrupt, and check holds. It then closes the store and removes the
// volume the store started, so the test can tear the tail again.
func openAfterCrash(t *testing.T, cfg Config, dir, last string, want map[uint64][]byte, check func()) {
	t.Helper()
	s := openStore(t, cfg)
	readsBack(t, s, want)
	if _, err := s.Stat(99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the torn record is visible: %v", err)
	}
	check()
	if len(s.Corrupt()) != 0 {
		t.Fatalf("Corrupt() = %v", s.Corrupt())
	}
	s.Close()
	for _, v := range volumeFiles(t, dir) {
		if v > last {
			os.Remove(v)
		}
	}
}

// A bad record header in the middle of a volume that is not the last one is
// damage: the scan indexes the records before it, not those after, and
// never appends there; compaction moves the good records out and sets the
// file aside in quarantine.
func TestPackedDamagedVolume(t *testing.T) {
	dir := t.TempDir()
	cfg := packConfig(t, dir)
	s := openStore(t, cfg)
	want := putMany(t, s, 1, 40)
	first := volumeFiles(t, dir)[0]
	var inFirst []uint64
	for id := range want {
		if path, _, _, _ := s.Locate(id); path == first {
			inFirst = append(inFirst, id)
		}
	}
	slices.Sort(inFirst)
	victim := inFirst[len(inFirst)/2]
	_, off, _, _ := s.Locate(victim)
	s.Close()
	f, _ := os.OpenFile(first, os.O_RDWR, 0)
	start := off - format.RecordPrefix(int64(len(want[victim])))
	f.WriteAt([]byte{0xff}, start+9) // inside the header's chunk id
	f.Close()

	s = openStore(t, cfg)
	for _, id := range inFirst {
		_, err := s.Stat(id)
		if (id < victim) != (err == nil) {
			t.Fatalf("chunk %d, damage at chunk %d: Stat = %v", id, victim, err)
		}
	}
	for id, data := range want {
		if !slices.Contains(inFirst, id) && !bytes.Equal(mustGet(t, s, id), data) {
			t.Fatalf("chunk %d in another volume differs", id)
		}
	}
	if _, err := s.Compact(0.99); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "quarantine", filepath.Base(first))); err != nil {
		t.Fatalf("the damaged volume is not in quarantine: %v", err)
	}
	for _, id := range inFirst {
		if id < victim && !bytes.Equal(mustGet(t, s, id), want[id]) {
			t.Fatalf("chunk %d differs after compaction", id)
		}
	}
}

// A volume file deleted behind the store's back loses every chunk in it:
// the read that finds it says ErrLost, TakeLost lists them all once, and
// the ids can be written again. Sweep finds the same without a read.
func TestPackedMissingVolume(t *testing.T) {
	for _, bySweep := range []bool{false, true} {
		dir := t.TempDir()
		s := openStore(t, packConfig(t, dir))
		want := putMany(t, s, 1, 40)
		vols := volumeFiles(t, dir)
		var inFirst []uint64
		for id := range want {
			if path, _, _, _ := s.Locate(id); path == vols[0] {
				inFirst = append(inFirst, id)
			}
		}
		slices.Sort(inFirst)
		os.Remove(vols[0])
		if bySweep {
			if n, err := s.Sweep(); n != len(inFirst) || err != nil {
				t.Fatalf("Sweep = %d, %v; want %d", n, err, len(inFirst))
			}
		} else if err := s.Verify(inFirst[0]); !errors.Is(err, ErrLost) {
			t.Fatalf("verify of a chunk whose volume is gone: %v", err)
		}
		got := s.TakeLost()
		slices.Sort(got)
		if !slices.Equal(got, inFirst) {
			t.Fatalf("lost %v, want %v", got, inFirst)
		}
		if len(s.TakeLost()) != 0 {
			t.Fatal("lost chunks listed twice")
		}
		for id, data := range want {
			_, err := s.Stat(id)
			if slices.Contains(inFirst, id) != errors.Is(err, ErrNotFound) {
				t.Fatalf("chunk %d: %v", id, err)
			}
			if err == nil && !bytes.Equal(mustGet(t, s, id), data) {
				t.Fatalf("chunk %d differs", id)
			}
		}
		mustPut(t, s, inFirst[0], []byte("replacement"))
		if got := mustGet(t, s, inFirst[0]); string(got) != "replacement" {
			t.Fatalf("re-created chunk reads %q", got)
		}
	}
}

// Locate and Inventory, reading the files of a data dir without a Store,
// find the chunks a Store holds, and the byte it reads first for a chunk
// file and for a packed chunk, the newest copy after deletes and
// re-creation, and nothing for a deleted chunk.
func TestLocateOffline(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, packConfig(t, dir))
	mustPut(t, s, 1, testData(100, 1))
	mustPut(t, s, 2, testData(5*format.BlockSize, 2)) // a chunk file
	mustPut(t, s, 3, testData(200, 3))
	s.Delete(3)
	mustPut(t, s, 3, []byte("again"))
	mustPut(t, s, 4, testData(300, 4))
	s.Delete(4)
	inv, err := Inventory(dir)
	if err != nil || fmt.Sprint(inv) != fmt.Sprint([]ChunkInfo{{1, 100}, {2, 5 * format.BlockSize}, {3, 5}}) {
		t.Fatalf("Inventory = %v, %v", inv, err)
	}
	for _, c := range inv {
		path, off, size, err := Locate(dir, c.ID)
		wantPath, wantOff, _, _ := s.Locate(c.ID)
		if err != nil || path != wantPath || off != wantOff || size != c.Size {
			t.Fatalf("Locate(%d) = %s, %d, %d, %v; the store says %s, %d, size %d", c.ID, path, off, size, err, wantPath, wantOff, c.Size)
		}
		file, _ := os.ReadFile(path)
		if first := mustGet(t, s, c.ID)[0]; file[off] != first {
			t.Fatalf("chunk %d: byte at %d is not its first", c.ID, off)
		}
		file[off] ^= 0x20
		os.WriteFile(path, file, 0o644)
		if err := s.Verify(c.ID); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("chunk %d with its located byte flipped: Verify = %v", c.ID, err)
		}
	}
	if _, _, _, err := Locate(dir, 4); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Locate of a deleted chunk: %v", err)
	}
}

// disk.Remove takes one chunk away behind a running store's back, as
// deleting its file would: a chunk file is deleted, a packed chunk's
// record voided. The store finds it lost (not corrupt) at its next read,
// the other chunks of the volume stay, and a restart does not index it.
func TestRemoveOffline(t *testing.T) {
	dir := t.TempDir()
	cfg := packConfig(t, dir)
	s := openStore(t, cfg)
	want := putMany(t, s, 1, 6)
	mustPut(t, s, 7, testData(5*format.BlockSize, 7)) // a chunk file
	for _, id := range []uint64{3, 7} {
		if err := Remove(dir, id); err != nil {
			t.Fatal(err)
		}
		if err := s.Verify(id); !errors.Is(err, ErrLost) {
			t.Fatalf("verify of removed chunk %d: %v", id, err)
		}
		if _, _, _, err := Locate(dir, id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Locate of removed chunk %d: %v", id, err)
		}
	}
	delete(want, 3)
	if got := s.TakeLost(); fmt.Sprint(got) != "[3 7]" || len(s.Corrupt()) != 0 {
		t.Fatalf("lost %v, corrupt %v; want [3 7] and none", got, s.Corrupt())
	}
	if err := Remove(dir, 3); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Remove: %v", err)
	}
	holdsExactly(t, s, want)
	s.Close()
	holdsExactly(t, openStore(t, cfg), want)
}

// TestPackedOpenFailEveryOp fails the i-th operation of the start-up scan
// of volumes, one of them left open by a crash with a torn tail (the scan
// cuts it and closes the volume): Open may fail, but no committed chunk is
// ever lost or damaged.
func TestPackedOpenFailEveryOp(t *testing.T) {
	dir := t.TempDir()
	cfg := packConfig(t, dir)
	s := openStore(t, cfg)
	want := putMany(t, s, 1, 30)
	if err := s.Delete(5); err != nil {
		t.Fatal(err)
	}
	delete(want, 5)
	s.Close()
	vols := volumeFiles(t, dir)
	last := vols[len(vols)-1]
	fi, _ := os.Stat(last)
	crashed := fi.Size() - int64(len(format.EncodeEnd()))
	efs := newErrFS()
	efs.filter = func(o string) bool { return o != "mkdir" && o != "readdir" }
	for i := 0; ; i++ {
		// The crash: no end record, a torn record after the last good one.
		os.Truncate(last, crashed)
		f, _ := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
		f.Write(format.EncodeRecord(99, testData(1000, 99))[:500])
		f.Close()
		cfg := packConfig(t, dir)
		cfg.FS = efs
		efs.arm(i, false, syscall.EIO)
		s, err := Open(cfg)
		hit, _ := efs.disarm()
		if err == nil {
			s.Close()
		}
		clean := openStore(t, packConfig(t, dir))
		if got := len(clean.List()); got != len(want) {
			t.Fatalf("op %d failed: %d chunks, want %d", i, got, len(want))
		}
		for id, data := range want {
			if !bytes.Equal(mustGet(t, clean, id), data) {
				t.Fatalf("op %d failed: chunk %d damaged", i, id)
			}
		}
		clean.Close()
		for _, v := range volumeFiles(t, dir) { // volumes started since
			if v > last {
				os.Remove(v)
			}
		}
		if !hit {
			return
		}
	}
}

// FuzzScanVolume: whatever bytes a volume file holds, its scan does not
// panic, and every chunk it would index reads back whole or fails with
// ErrCorrupt.
func FuzzScanVolume(f *testing.F) {
	vol := append(format.EncodeVolumeHeader(1), format.EncodeRecord(7, testData(100, 7))...)
	vol = append(vol, format.EncodeTombstone(7, 1, format.VolHeaderSize)...)
	vol = append(vol, format.EncodeRecord(8, testData(format.BlockSize+1, 8))...)
	f.Add(append(vol, format.EncodeEnd()...))
	f.Add(vol)
	f.Add(vol[:len(vol)-5])
	f.Add(format.EncodeVolumeHeader(1))
	path := filepath.Join(f.TempDir(), format.VolumeName(1))
	f.Fuzz(func(t *testing.T, file []byte) {
		if err := os.WriteFile(path, file, 0o644); err != nil {
			t.Fatal(err)
		}
		vs, err := readVolume(OSFS(), path, 1)
		if err != nil {
			return // not a volume: set aside, nothing indexed
		}
		for id, loc := range liveRecords([]volScan{vs}) {
			r, err := openRecord(OSFS(), path, id, loc.off)
			if err == nil {
				_, err = r.CopyTo(io.Discard, 0, r.Size())
				r.Close()
			}
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("chunk %d indexed, then: %v", id, err)
			}
		}
	})
}
