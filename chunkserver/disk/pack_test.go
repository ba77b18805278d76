package disk

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// Tests of packed chunks: records in shared volume files.

// packConfig configures a store that packs chunks up to 3 blocks and a bit
// into volumes of about 8 records of that size, with background
// compaction off (tests call Compact).
func packConfig(t testing.TB, dirs ...string) Config {
	cfg := testConfig(t, dirs...)
	cfg.PackMax = 3*format.BlockSize + 100
	cfg.VolumeMax = 8 * format.RecordSize(cfg.PackMax)
	cfg.CompactBelow = 0
	return cfg
}

// volumeFiles lists the volume files of data dir dir.
func volumeFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "volumes", "*"+format.VolumeExt))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// chunkFiles lists the chunk files of data dir dir.
func chunkFiles(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "chunks", "*", "*"+format.ChunkExt))
	return m
}

// Chunks up to PackMax, of known size or not, are packed; a chunk of
// unknown size that passes PackMax spills to a chunk file in the chunk
// file format; all read back, before and after a restart.
func TestPackedRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cfg := packConfig(t, dir)
	s := openStore(t, cfg)
	sizes := []int{0, 1, format.BlockSize - 1, format.BlockSize, format.BlockSize + 1, 3*format.BlockSize + 100, 3*format.BlockSize + 101, 5*format.BlockSize + 123}
	want := map[uint64][]byte{}
	id := uint64(0)
	for _, size := range sizes {
		for _, known := range []bool{true, false} {
			for _, piece := range []int{1 << 30, 1000, format.BlockSize + 7} {
				id++
				data := testData(size, id)
				if err := writeChunk(s, id, data, known, piece); err != nil {
					t.Fatalf("size %d known %v piece %d: %v", size, known, piece, err)
				}
				want[id] = data
				if got := mustGet(t, s, id); !bytes.Equal(got, data) {
					t.Fatalf("size %d known %v piece %d: data differs", size, known, piece)
				}
				path, off, _, err := s.Locate(id)
				if err != nil {
					t.Fatal(err)
				}
				packed := filepath.Ext(path) == format.VolumeExt
				if packed != (int64(size) <= cfg.PackMax) {
					t.Fatalf("size %d stored in %s", size, path)
				}
				if !packed {
					file, err := os.ReadFile(path)
					if err != nil || !bytes.Equal(file, encodeChunk(id, data)) || off != format.HeaderSize {
						t.Fatalf("size %d: chunk file is not the canonical encoding (err %v)", size, err)
					}
				}
			}
		}
	}
	if n := len(volumeFiles(t, dir)); n < 2 {
		t.Fatalf("%d volume files; the volume size bound should have started more", n)
	}
	s.Close()
	s = openStore(t, cfg)
	if got := listIDs(s); len(got) != len(want) {
		t.Fatalf("after restart %d chunks, want %d", len(got), len(want))
	}
	for id, data := range want {
		if !bytes.Equal(mustGet(t, s, id), data) {
			t.Fatalf("chunk %d differs after restart", id)
		}
		if st, err := s.Stat(id); err != nil || st.Size != int64(len(data)) {
			t.Fatalf("Stat(%d) = %+v, %v", id, st, err)
		}
	}
	if len(s.Corrupt()) != 0 {
		t.Fatalf("Corrupt() = %v", s.Corrupt())
	}
}

// The record of a packed chunk is exactly the documented encoding, placed
// after the volume header.
func TestPackedEncoding(t *testing.T) {
	s, dir := newPackStore(t)
	data := testData(format.BlockSize+10, 1)
	mustPut(t, s, 7, data)
	vols := volumeFiles(t, dir)
	if len(vols) != 1 {
		t.Fatalf("volumes %v", vols)
	}
	file, _ := os.ReadFile(vols[0])
	want := append(format.EncodeVolumeHeader(1), format.EncodeRecord(7, data)...)
	if !bytes.Equal(file, want) {
		t.Fatalf("volume is not the documented encoding:\n% x", file[:min(len(file), 200)])
	}
	if err := s.Delete(7); err != nil {
		t.Fatal(err)
	}
	file, _ = os.ReadFile(vols[0])
	want = append(want, format.EncodeTombstone(7, 1, format.VolHeaderSize)...)
	if !bytes.Equal(file, want) {
		t.Fatal("the tombstone is not the documented encoding")
	}
}

func newPackStore(t testing.TB) (*Store, string) {
	dir := t.TempDir()
	return openStore(t, packConfig(t, dir)), dir
}

// A flipped byte anywhere in a packed chunk's record is caught: in its
// header or checksums by Open, in its data by the read of that block; and
// after a restart the record is still indexed (its header is good) or the
// volume's scan stops there (a bad header).
func TestPackedFlipAnyByte(t *testing.T) {
	for _, n := range []int{0, 100, 2*format.BlockSize + 10} {
		s, _ := newPackStore(t)
		const id = 0x1ab
		data := testData(n, 4)
		mustPut(t, s, 0x1, testData(50, 1)) // a record before it
		mustPut(t, s, id, data)
		path, dataOff, _, err := s.Locate(id)
		if err != nil {
			t.Fatal(err)
		}
		prefix := format.RecordPrefix(int64(n))
		start := dataOff - prefix
		file, _ := os.ReadFile(path)
		// Each position of a chunk file (flipPositions) maps to the same
		// part of the record: header, checksums, data.
		for _, p := range flipPositions(n) {
			var pos int64
			switch {
			case p < format.HeaderSize:
				pos = start + p%format.RecHeaderSize
			case p < format.HeaderSize+int64(n):
				pos = dataOff + p - format.HeaderSize
			default:
				pos = start + format.RecHeaderSize + p - format.HeaderSize - int64(n)
			}
			bad := bytes.Clone(file)
			bad[pos] ^= 1 << (pos % 8)
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}
			checkFlipDetected(t, s, id, data, p)
		}
		if got := s.Corrupt(); len(got) != 1 || got[0] != id {
			t.Errorf("Corrupt() = %v", got)
		}
		if err := s.Verify(1); err != nil {
			t.Errorf("the record before it: %v", err)
		}
		os.WriteFile(path, file, 0o644)
		if err := s.Delete(id); err != nil || len(s.Corrupt()) != 0 {
			t.Errorf("Delete: %v; Corrupt() = %v", err, s.Corrupt())
		}
	}
}

// Deleting a packed chunk appends a tombstone; the id can be created again
// (repair copies a good replica back over a deleted corrupt one), and a
// restart sees the last state: deleted chunks stay deleted, the new copy
// stands.
func TestPackedDeleteAndRecreate(t *testing.T) {
	dir := t.TempDir()
	cfg := packConfig(t, dir)
	s := openStore(t, cfg)
	for id := uint64(1); id <= 4; id++ {
		mustPut(t, s, id, testData(1000, id))
	}
	for _, id := range []uint64{1, 2, 3} {
		if err := s.Delete(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	mustPut(t, s, 2, []byte("second life"))
	mustPut(t, s, 3, testData(2*format.BlockSize, 33))
	if err := s.Delete(3); err != nil {
		t.Fatal(err)
	}
	check := func(s *Store) {
		t.Helper()
		if got := listIDs(s); fmt.Sprint(got) != "[2 4]" {
			t.Fatalf("chunks %v, want [2 4]", got)
		}
		if got := mustGet(t, s, 2); string(got) != "second life" {
			t.Fatalf("chunk 2 reads %q", got)
		}
		if !bytes.Equal(mustGet(t, s, 4), testData(1000, 4)) {
			t.Fatal("chunk 4 differs")
		}
		if _, err := s.Open(1); !errors.Is(err, ErrNotFound) {
			t.Fatalf("deleted chunk 1: %v", err)
		}
	}
	check(s)
	s.Close()
	s = openStore(t, cfg)
	check(s)
	// Compacting everything keeps the same state, across a restart too.
	if _, err := s.Compact(1); err != nil {
		t.Fatal(err)
	}
	check(s)
	s.Close()
	check(openStore(t, cfg))
}

// putMany writes n packed chunks of about a block each, ids from first.
func putMany(t testing.TB, s *Store, first uint64, n int) map[uint64][]byte {
	t.Helper()
	out := make(map[uint64][]byte)
	for id := first; id < first+uint64(n); id++ {
		out[id] = testData(format.BlockSize-int(id%1000), id)
		mustPut(t, s, id, out[id])
	}
	return out
}

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
		for id, data := range want {
			if !bytes.Equal(mustGet(t, s, id), data) {
				t.Fatalf("chunk %d differs", id)
			}
		}
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
	for id, data := range want {
		if !bytes.Equal(mustGet(t, s, id), data) {
			t.Fatalf("chunk %d differs", id)
		}
	}
}

// waitFor waits, up to 10 s, until cond holds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// gateFS holds every fsync of a volume until released, and counts them.
type gateFS struct {
	FS
	mu     sync.Mutex
	gate   chan struct{} // closed: fsyncs pass
	syncs  int
	waited chan struct{} // receives when an fsync starts waiting
}

func (g *gateFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := g.FS.OpenFile(name, flag, perm)
	if err != nil || filepath.Ext(name) != format.VolumeExt {
		return f, err
	}
	return &gateFile{File: f, g: g}, nil
}

type gateFile struct {
	File
	g *gateFS
}

func (f *gateFile) Sync() error {
	f.g.mu.Lock()
	f.g.syncs++
	gate := f.g.gate
	f.g.mu.Unlock()
	select {
	case f.g.waited <- struct{}{}:
	default:
	}
	<-gate
	return f.File.Sync()
}

// Many chunks committed at once share fsyncs: while one fsync runs, the
// records written meanwhile wait, and the next fsync covers all of them.
// Every Commit returns only after an fsync that covers its record.
func TestGroupCommit(t *testing.T) {
	dir := t.TempDir()
	g := &gateFS{FS: OSFS(), gate: make(chan struct{}), waited: make(chan struct{}, 1)}
	cfg := packConfig(t, dir)
	cfg.FS, cfg.NoSync = g, false
	s := openStore(t, cfg)
	release := sync.OnceFunc(func() { close(g.gate) })
	t.Cleanup(release) // before the store's Close, which syncs
	const n = 16
	errs := make(chan error, n)
	go func() { errs <- writeChunk(s, 0, testData(100, 0), true, 100) }()
	select { // the first commit's fsync is running (held)
	case <-g.waited:
	case err := <-errs:
		t.Fatalf("a commit returned before its fsync: %v", err)
	}
	for id := uint64(1); id < n; id++ {
		go func() { errs <- writeChunk(s, id, testData(100, id), true, 100) }()
	}
	// Wait until the other records are written and wait for an fsync.
	a := s.packers[0].cur
	end := int64(format.VolHeaderSize) + n*format.RecordSize(100)
	waitFor(t, func() bool { a.mu.Lock(); defer a.mu.Unlock(); return a.done == end })
	if _, err := s.Stat(1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a chunk is visible before its fsync: %v", err)
	}
	release()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.syncs != 2 {
		t.Fatalf("%d volume fsyncs for %d chunks, want 2", g.syncs, n)
	}
	if got := len(s.List()); got != n {
		t.Fatalf("%d chunks listed", got)
	}
}

// TestPackedFailEveryOp writes packed chunks and deletes them, failing the
// i-th disk operation for every i: a Commit or Delete that fails leaves
// the chunk as it was, now and for a fresh Store, and every chunk whose
// Commit returned nil reads back whole, now and after the restart.
func TestPackedFailEveryOp(t *testing.T) {
	for _, sticky := range []bool{false, true} {
		for _, known := range []bool{true, false} {
			t.Run(fmt.Sprintf("sticky=%v/known=%v", sticky, known), func(t *testing.T) {
				packedFailEveryOp(t, sticky, known)
			})
		}
	}
}

func packedFailEveryOp(t *testing.T, sticky, known bool) {
	dir := t.TempDir()
	efs := newErrFS()
	cfg := packConfig(t, dir)
	cfg.FS, cfg.NoSync = efs, false
	cfg.VolumeMax = 4 * format.RecordSize(cfg.PackMax) // rotations too
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

// BenchmarkSmallWrites creates and commits 4 KiB and 64 KiB chunks from 16
// writers at once, with fsync, packed into volumes and as chunk files
// (PackMax 0), reporting chunks/s and fsyncs per chunk.
func BenchmarkSmallWrites(b *testing.B) {
	const writers = 16
	for _, size := range []int{4 << 10, 64 << 10} {
		data := testData(size, 1)
		for _, packed := range []bool{true, false} {
			name := map[bool]string{true: "packed", false: "files"}[packed]
			b.Run(fmt.Sprintf("%s/%dKiB", name, size>>10), func(b *testing.B) {
				var syncs atomic.Int64
				cfg := DefaultConfig()
				cfg.Dirs = []string{b.TempDir()}
				cfg.ObserveSync = func(time.Duration) { syncs.Add(1) }
				if !packed {
					cfg.PackMax = 0
				}
				s := openStore(b, cfg)
				syncs.Store(0)
				var next atomic.Int64
				var wg sync.WaitGroup
				b.SetBytes(int64(size))
				b.ResetTimer()
				for range writers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							id := next.Add(1)
							if id > int64(b.N) {
								return
							}
							if err := writeChunk(s, uint64(id), data, true, size); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "chunks/s")
				b.ReportMetric(float64(syncs.Load())/float64(b.N), "fsyncs/chunk")
			})
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
		s := openStore(t, cfg)
		for id, data := range want {
			if !bytes.Equal(mustGet(t, s, id), data) {
				t.Fatalf("chunk %d differs", id)
			}
		}
		if _, err := s.Stat(99); !errors.Is(err, ErrNotFound) {
			t.Fatalf("the torn record is visible: %v", err)
		}
		if fi, _ := os.Stat(last); fi.Size() != good.Size() {
			t.Fatalf("last volume %d bytes after the cut, want %d", fi.Size(), good.Size())
		}
		if _, err := os.Stat(torn); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("torn new volume left: %v", err)
		}
		if len(s.Corrupt()) != 0 {
			t.Fatalf("Corrupt() = %v", s.Corrupt())
		}
		s.Close()
		// The next store opened starts its own volume; take it away again.
		for _, v := range volumeFiles(t, dir) {
			if v > last {
				os.Remove(v)
			}
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

// Config.Capacity bounds the volume bytes too: a packed chunk that would
// pass it is refused, and after deletes and a compaction there is room
// again.
func TestPackedCapacity(t *testing.T) {
	cfg := packConfig(t, t.TempDir())
	cfg.Capacity = format.VolHeaderSize + 3*format.RecordSize(1000)
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
	for id := uint64(1); id <= 3; id++ {
		if err := s.Delete(id); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.Compact(0.5); n != 1 || err != nil { // the open volume, all dead, closed and removed
		t.Fatalf("Compact = %d, %v", n, err)
	}
	if used, _, _ := s.Usage(); used != 0 {
		t.Fatalf("%d bytes used with no chunks and no volumes", used)
	}
	mustPut(t, s, 6, testData(1000, 6))
}

// Writers, readers, deletes and compaction at once (run with -race): every
// chunk reads back as written until deleted, and after a restart.
func TestPackedConcurrent(t *testing.T) {
	dir := t.TempDir()
	cfg := packConfig(t, dir)
	cfg.NoSync = false
	cfg.CompactBelow = 0.5
	s := openStore(t, cfg)
	const writers, each = 8, 30
	var wg sync.WaitGroup
	var mu sync.Mutex
	kept := map[uint64][]byte{}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				id := uint64(w*each + k + 1)
				data := testData(int(id*997)%(2*format.BlockSize), id)
				if err := writeChunk(s, id, data, k%2 == 0, 5000); err != nil {
					t.Error(err)
					return
				}
				if got := mustGet(t, s, id); !bytes.Equal(got, data) {
					t.Errorf("chunk %d differs", id)
				}
				if k%3 != 0 {
					if err := s.Delete(id); err != nil {
						t.Error(err)
					}
					continue
				}
				mu.Lock()
				kept[id] = data
				mu.Unlock()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			if _, err := s.Compact(0.7); err != nil {
				t.Error(err)
			}
		}
	}()
	wg.Wait()
	check := func(s *Store) {
		t.Helper()
		if got := len(s.List()); got != len(kept) {
			t.Fatalf("%d chunks, want %d", got, len(kept))
		}
		for id, data := range kept {
			if !bytes.Equal(mustGet(t, s, id), data) {
				t.Fatalf("chunk %d differs", id)
			}
		}
	}
	check(s)
	s.Close()
	check(openStore(t, cfg))
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
	for id, data := range want {
		if !bytes.Equal(mustGet(t, s, id), data) {
			t.Fatalf("chunk %d differs", id)
		}
	}
}

// Packed chunks report their fsyncs too: the volume's dir when it is
// made, then one fsync per group commit (here one per chunk, written one
// after the other), and the end record's at Close.
func TestObserveSyncPacked(t *testing.T) {
	var syncs atomic.Int64
	cfg := packConfig(t, t.TempDir())
	cfg.NoSync = false
	cfg.ObserveSync = func(time.Duration) { syncs.Add(1) }
	s := openStore(t, cfg)
	opened := syncs.Load()
	mustPut(t, s, 1, testData(5000, 1))
	mustPut(t, s, 2, testData(100, 2))
	if got := syncs.Load() - opened; got != 3 {
		t.Errorf("%d fsyncs for two packed chunks, want 3 (the new volume's dir, then one each)", got)
	}
	s.Close()
	if got := syncs.Load() - opened; got != 4 {
		t.Errorf("%d fsyncs with Close, want 4", got)
	}
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
	check := func(s *Store) {
		t.Helper()
		if got := len(s.List()); got != len(want) {
			t.Fatalf("%d chunks, want %d", got, len(want))
		}
		for id, data := range want {
			if !bytes.Equal(mustGet(t, s, id), data) {
				t.Fatalf("chunk %d differs", id)
			}
		}
	}
	check(s)
	s.Close()
	check(openStore(t, cfg))
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

// Writers counts the chunks being written, packed or not, until their
// Commit or Abort.
func TestWriters(t *testing.T) {
	s, _ := newPackStore(t)
	small, err := s.Create(1, 10)
	if err != nil {
		t.Fatal(err)
	}
	big, err := s.Create(2, 5*format.BlockSize)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(1, 10); !errors.Is(err, ErrExists) || s.Writers() != 2 {
		t.Fatalf("Writers = %d with two open (a refused Create: %v)", s.Writers(), err)
	}
	small.Write(make([]byte, 10))
	if err := small.Commit(); err != nil || s.Writers() != 1 {
		t.Fatalf("Writers = %d after a Commit (%v)", s.Writers(), err)
	}
	big.Abort()
	if s.Writers() != 0 {
		t.Fatalf("Writers = %d after an Abort", s.Writers())
	}
}

func TestPackConfigValidate(t *testing.T) {
	for _, bad := range []func(*Config){
		func(c *Config) { c.PackMax = -1 },
		func(c *Config) { c.PackMax = maxPackMax + 1 },
		func(c *Config) { c.VolumeMax = format.RecordSize(c.PackMax) }, // no room for the header
		func(c *Config) { c.CompactBelow = 1 },
		func(c *Config) { c.CompactBelow = -0.1 },
	} {
		cfg := DefaultConfig()
		cfg.Dirs = []string{t.TempDir()}
		bad(&cfg)
		if err := cfg.Validate(); err == nil {
			t.Errorf("%+v validates", cfg)
		}
	}
	cfg := DefaultConfig()
	cfg.Dirs = []string{t.TempDir()}
	cfg.PackMax, cfg.VolumeMax = 0, 0 // packing off: no volume size needed
	if err := cfg.Validate(); err != nil {
		t.Errorf("packing off: %v", err)
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
