package disk

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	cfg.ZeroAhead = 0 // zeroahead_test.go turns it on
	cfg.DirectMin = 0 // records are contiguous; direct_test.go and the tests that loop over withDirect turn it on
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
	for _, n := range []int{0, 100, 2*format.BlockSize + 10, -(2*format.BlockSize + 10)} {
		cfg := packConfig(t, t.TempDir())
		if n < 0 { // the record written with direct I/O, padded
			n, cfg.DirectMin = -n, format.BlockSize
		}
		s := openStore(t, cfg)
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
// readsBack fails t unless every chunk of want reads back as its bytes.
func readsBack(t testing.TB, s *Store, want map[uint64][]byte) {
	t.Helper()
	for id, data := range want {
		if !bytes.Equal(mustGet(t, s, id), data) {
			t.Fatalf("chunk %d differs", id)
		}
	}
}

// holdsExactly fails t unless s lists exactly the chunks of want and each
// reads back as its bytes.
func holdsExactly(t testing.TB, s *Store, want map[uint64][]byte) {
	t.Helper()
	if got := len(s.List()); got != len(want) {
		t.Fatalf("%d chunks, want %d", got, len(want))
	}
	readsBack(t, s, want)
}

func putMany(t testing.TB, s *Store, first uint64, n int) map[uint64][]byte {
	t.Helper()
	out := make(map[uint64][]byte)
	for id := first; id < first+uint64(n); id++ {
		out[id] = testData(format.BlockSize-int(id%1000), id)
		mustPut(t, s, id, out[id])
	}
	return out
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

// count returns how many fsyncs of a volume began.
func (g *gateFS) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.syncs
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
	if got := g.count(); got != 2 {
		t.Fatalf("%d volume fsyncs for %d chunks, want 2", got, n)
	}
	if got := len(s.List()); got != n {
		t.Fatalf("%d chunks listed", got)
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
	cfg.DirectMin = format.BlockSize // the records from one block up: direct and buffered writes side by side
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
	holdsExactly(t, s, kept)
	s.Close()
	holdsExactly(t, openStore(t, cfg), kept)
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

// DeleteMany appends the tombstones of a batch together: one group commit
// for all of them. Missing ids get ErrNotFound, a chunk file is removed
// as by Delete, and a restart sees every chunk of the batch deleted.
func TestDeleteManySharesCommit(t *testing.T) {
	var syncs atomic.Int64
	dir := t.TempDir()
	cfg := packConfig(t, dir)
	cfg.NoSync = false
	cfg.VolumeMax = 64 << 20
	cfg.ObserveSync = func(time.Duration) { syncs.Add(1) }
	s := openStore(t, cfg)
	var ids []uint64
	for id := uint64(1); id <= 40; id++ {
		mustPut(t, s, id, testData(int(id)*100, id))
		ids = append(ids, id)
	}
	mustPut(t, s, 100, testData(int(cfg.PackMax)+1, 100)) // a chunk file
	kept := testData(300, 41)
	mustPut(t, s, 41, kept)
	before := syncs.Load()
	errs := s.DeleteMany(append(ids, 100, 999))
	if got := syncs.Load() - before; got != 1 {
		t.Errorf("%d fsyncs for a batch of 40 tombstones, want 1", got)
	}
	for i, err := range errs[:41] {
		if err != nil {
			t.Errorf("delete %d: %v", append(ids, 100)[i], err)
		}
	}
	if !errors.Is(errs[41], ErrNotFound) {
		t.Errorf("delete of a missing chunk: %v", errs[41])
	}
	s.Close()
	holdsExactly(t, openStore(t, cfg), map[uint64][]byte{41: kept})
}

// A batch whose group commit fails leaves every chunk of it as it was,
// now and after a restart.
func TestDeleteManyFailedCommit(t *testing.T) {
	dir := t.TempDir()
	efs := newErrFS()
	efs.filter = func(op string) bool { return op == "sync" }
	cfg := packConfig(t, dir)
	cfg.FS, cfg.NoSync = efs, false
	s := openStore(t, cfg)
	want := map[uint64][]byte{}
	for id := uint64(1); id <= 10; id++ {
		want[id] = testData(int(id)*500, id)
		mustPut(t, s, id, want[id])
	}
	efs.arm(0, false, syscall.EIO)
	errs := s.DeleteMany([]uint64{2, 4, 6, 8})
	if hit, _ := efs.disarm(); !hit {
		t.Fatal("no fsync failed")
	}
	for i, err := range errs {
		if err == nil {
			t.Errorf("delete %d of the failed batch: nil error", i)
		}
	}
	holdsExactly(t, s, want)
	s.Close()
	clean := cfg
	clean.FS = OSFS()
	holdsExactly(t, openStore(t, clean), want)
}
