package disk

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// Config configures a Store. Start from DefaultConfig and set Dirs.
type Config struct {
	// Dirs are the data dirs, typically one per disk. At least one.
	Dirs []string
	// NoSync skips every fsync. A crash may then lose committed chunks
	// (a torn file still fails its checks rather than read as valid).
	// For tests and benchmarks.
	NoSync bool
	// MaxChunkSize bounds the data length of a chunk, in bytes.
	MaxChunkSize int64
	// Capacity bounds the bytes of chunk files and volume files the store
	// keeps, a hard limit below what the disks hold (0: no limit but the
	// disks). A chunk that would go past it is refused with ErrNoSpace.
	// Compaction alone may pass it, by the live bytes of the volume it
	// rewrites, until it removes that volume; a tombstone too, by its 52
	// bytes, until its volume is compacted.
	Capacity int64
	// FS is the file system; nil means OSFS().
	FS FS
	// Logger receives start-up and corruption events; nil discards them.
	Logger *slog.Logger
	// ObserveSync, if set, is told how long each fsync (of a chunk file,
	// a volume or a dir) took, failed or not; for metrics. Writers call it
	// concurrently, so it must be safe for that and quick.
	ObserveSync func(took time.Duration)
	// PackMax is the largest chunk, in data bytes, stored as a record in
	// a shared volume file rather than as a file of its own (0: every
	// chunk gets its own file). Many records share one fsync.
	PackMax int64
	// VolumeMax bounds a volume file: a record that would take the
	// active volume past it starts a new one.
	VolumeMax int64
	// ZeroAhead is how many bytes past the last record of each active
	// volume the store keeps written with zeros, made durable ahead of
	// the records that will overwrite them (0: none). A record written
	// over them changes no file metadata, so its group commit is an
	// fdatasync that flushes data alone, without a journal commit of the
	// file's new size and blocks. The zeros are no record: a crash leaves
	// them as a torn tail, which the scan cuts, and a volume that closes
	// is cut to its end record. They count against Capacity.
	ZeroAhead int64
	// DirectMin is the length of the smallest record written to a volume
	// with direct I/O (O_DIRECT), past the page cache, at an offset and
	// length aligned to 4 KiB with void records padding the gaps (0: no
	// record). Copying a large record into the page cache costs more CPU
	// than the disk's own DMA, most on virtual machines whose fresh page
	// cache pages fault in the host. A file system without direct I/O
	// gets buffered writes instead. Group commit is unchanged: the record
	// is durable at the volume's next fdatasync.
	DirectMin int64
	// CompactBelow is the fraction of a closed volume's bytes that must
	// still be live for it to stay; below it, the store's compaction
	// rewrites the live records into the active volume and removes the
	// file (0: only Compact does).
	CompactBelow float64
}

// DefaultConfig returns a Config with the defaults: 64 MiB chunks, fsync
// on, the OS file system, no logging, chunks up to 1 MiB packed into
// volumes of up to 256 MiB with 8 MiB zeroed ahead of their records,
// records from 64 KiB up written with direct I/O, a volume rewritten when
// less than half of it is live.
// Dirs is left empty.
func DefaultConfig() Config {
	return Config{
		MaxChunkSize: 64 << 20,
		FS:           OSFS(),
		Logger:       slog.New(slog.DiscardHandler),
		PackMax:      1 << 20,
		VolumeMax:    256 << 20,
		ZeroAhead:    8 << 20,
		DirectMin:    64 << 10,
		CompactBelow: 0.5,
	}
}

// Validate reports the first problem with c, or nil.
func (c Config) Validate() error {
	if len(c.Dirs) == 0 {
		return errors.New("chunkserver: config: no data dirs")
	}
	seen := make(map[string]bool)
	for _, d := range c.Dirs {
		if d == "" {
			return errors.New("chunkserver: config: empty data dir")
		}
		if seen[filepath.Clean(d)] {
			return fmt.Errorf("chunkserver: config: data dir %q listed twice", d)
		}
		seen[filepath.Clean(d)] = true
	}
	if c.Capacity < 0 {
		return fmt.Errorf("chunkserver: config: capacity %d is negative", c.Capacity)
	}
	if c.MaxChunkSize <= 0 || c.MaxChunkSize > format.MaxDataLen {
		return fmt.Errorf("chunkserver: config: max chunk size %d not in 1..%d", c.MaxChunkSize, int64(format.MaxDataLen))
	}
	if c.DirectMin < 0 {
		return fmt.Errorf("chunkserver: config: direct I/O threshold %d is negative", c.DirectMin)
	}
	if c.PackMax < 0 || c.PackMax > maxPackMax {
		return fmt.Errorf("chunkserver: config: pack threshold %d not in 0..%d", c.PackMax, int64(maxPackMax))
	}
	if c.PackMax > 0 && c.VolumeMax < format.VolHeaderSize+format.RecordSize(c.PackMax) {
		return fmt.Errorf("chunkserver: config: volume size %d cannot hold a record of %d bytes", c.VolumeMax, c.PackMax)
	}
	if c.ZeroAhead < 0 {
		return fmt.Errorf("chunkserver: config: zero-ahead %d is negative", c.ZeroAhead)
	}
	if c.CompactBelow < 0 || c.CompactBelow >= 1 {
		return fmt.Errorf("chunkserver: config: compaction threshold %g not in [0, 1)", c.CompactBelow)
	}
	return nil
}

// ChunkInfo describes a stored chunk.
type ChunkInfo struct {
	ID   uint64 // chunk id
	Size int64  // data bytes, without header and checksums
}

// Store keeps immutable chunks under one or more data dirs, as files of
// their own or, up to Config.PackMax bytes, as records in shared volume
// files; the layout and formats are drawn in package format.
//
// Concurrency: every Store method is safe for concurrent use. Any number of
// goroutines may read (Open, ReadRange, Verify, Stat, List) at once, and
// chunks with different ids may be created at once; a Create for an id that
// is stored, or being created or deleted, fails with ErrExists. Delete does
// not wait for readers: a Reader opened before keeps reading the old file
// (Linux keeps an unlinked file alive while it is open), later Opens return
// ErrNotFound; the same holds for a volume compaction removes. A data dir
// must be used by one Store at a time.
type Store struct {
	cfg     Config
	fs      FS
	log     *slog.Logger
	dirs    []dataDir
	packers []*packer // one per data dir, same index

	mu      sync.RWMutex
	moved   sync.Cond // signalled when compaction ends a move; L is &mu
	closed  bool
	chunks  map[uint64]entry    // committed chunks
	busy    map[uint64]struct{} // ids being created or deleted
	moving  map[uint64]struct{} // ids compaction is copying to another volume
	corrupt map[uint64]struct{} // ids found corrupt, until deleted
	used    int64               // bytes of the chunk files and volume files
	pending int64               // file bytes reserved by open Writers
	ahead   int64               // zeros written ahead in volumes (Config.ZeroAhead)
	writers int                 // open Writers
	lost    []uint64            // ids whose files vanished, until TakeLost
	failed  map[int]error       // data dirs found failed, until restart

	compactor compactor
	bg        sync.WaitGroup // zeroings ahead (zeroahead.go)
	noDirect  atomic.Bool    // a volume could not be opened for direct I/O: none is
}

// entry locates a committed chunk: a chunk file, or a record in a volume.
type entry struct {
	dir  int    // index in Store.dirs
	size int64  // data bytes
	vol  uint64 // sequence of the volume holding it, 0 for a chunk file
	off  int64  // offset of its record in the volume
}

// packed reports whether the chunk is a record in a volume.
func (e entry) packed() bool { return e.vol != 0 }

// Open opens a Store on cfg.Dirs, creating the layout where missing. It
// scans every dir: it removes temporary files left by a crash, indexes
// every chunk whose header and length check out, and moves the others to
// <dir>/quarantine, reporting them in Corrupt. If two dirs hold the same
// chunk id, the first copy that passes a full check is kept and the other
// is quarantined.
func Open(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.FS == nil {
		cfg.FS = OSFS()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{
		cfg:     cfg,
		fs:      cfg.FS,
		log:     cfg.Logger.With("component", "chunkstore"),
		chunks:  make(map[uint64]entry),
		busy:    make(map[uint64]struct{}),
		moving:  make(map[uint64]struct{}),
		corrupt: make(map[uint64]struct{}),
		failed:  make(map[int]error),
	}
	s.moved.L = &s.mu
	for i, root := range cfg.Dirs {
		d := dataDir{root, filepath.Join(root, "chunks"), filepath.Join(root, "quarantine"), filepath.Join(root, "volumes")}
		if err := s.prepare(d); err != nil {
			return nil, fmt.Errorf("chunkserver: prepare %s: %w", root, err)
		}
		s.dirs = append(s.dirs, d)
		s.packers = append(s.packers, &packer{s: s, dir: i, path: d.volumes, vols: make(map[uint64]*volume), nextSeq: 1})
	}
	for i := range s.dirs {
		if err := s.scan(i); err != nil {
			return nil, fmt.Errorf("chunkserver: scan %s: %w", s.dirs[i].root, err)
		}
		if err := s.scanVolumes(i); err != nil {
			return nil, fmt.Errorf("chunkserver: scan volumes of %s: %w", s.dirs[i].root, err)
		}
	}
	for id := range s.corrupt {
		if _, ok := s.chunks[id]; ok {
			delete(s.corrupt, id) // a bad copy in one dir, a good one in another
		}
	}
	for _, e := range s.chunks {
		if e.packed() {
			s.packers[e.dir].vols[e.vol].live += format.RecordSize(e.size)
		} else {
			s.used += format.FileSize(e.size)
		}
	}
	s.compactor.start(s)
	return s, nil
}

// Create starts writing chunk id of size bytes, or of unknown size if size
// is -1. The caller writes the data to the Writer, then calls Commit, or
// Abort to give up. It fails with ErrExists if the id is stored or being
// created or deleted, ErrTooLarge above Config.MaxChunkSize, and
// ErrNoSpace if no data dir has room for size bytes or the chunk would take
// the store past Config.Capacity (a chunk of unknown size is checked
// against the capacity again at Commit).
func (s *Store) Create(id uint64, size int64) (*Writer, error) {
	switch {
	case size < -1:
		return nil, fmt.Errorf("chunkserver: create chunk %d: size %d: %w", id, size, ErrRange)
	case size > s.cfg.MaxChunkSize:
		return nil, fmt.Errorf("chunkserver: create chunk %d: size %d, limit %d: %w", id, size, s.cfg.MaxChunkSize, ErrTooLarge)
	}
	packed := s.cfg.PackMax > 0 && size <= s.cfg.PackMax
	need := format.FileSize(max(size, 0))
	if packed {
		need = s.recordRoom(max(size, 0))
	}
	if err := s.reserve(id, need); err != nil {
		return nil, fmt.Errorf("chunkserver: create chunk %d: %w", id, err)
	}
	newWriter := s.newWriter
	if packed {
		newWriter = s.newPackedWriter
	}
	w, err := newWriter(id, size)
	if err != nil {
		s.release(id, need)
		return nil, fmt.Errorf("chunkserver: create chunk %d: %w", id, spaceErr(err))
	}
	w.reserved = need
	return w, nil
}

// reserve marks id busy for a Create, unless it is stored or busy, and
// reserves need bytes of the capacity.
func (s *Store) reserve(id uint64, need int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if _, ok := s.chunks[id]; ok {
		return ErrExists
	}
	if _, ok := s.busy[id]; ok {
		return ErrExists
	}
	if err := s.fits(need); err != nil {
		return err
	}
	s.busy[id] = struct{}{}
	s.pending += need
	s.writers++
	return nil
}

// fits reports whether need more bytes stay within Config.Capacity. The
// caller holds s.mu.
func (s *Store) fits(need int64) error {
	if c := s.cfg.Capacity; c > 0 && s.used+s.pending+s.ahead+need > c {
		return fmt.Errorf("%w: %d bytes more would pass the capacity of %d (%d used, %d being written, %d zeroed ahead)",
			ErrNoSpace, need, c, s.used, s.pending, s.ahead)
	}
	return nil
}

// SetCapacity changes Config.Capacity of a running store (0: no limit but
// the disks), for operators and fault tests: chunks already stored stay,
// new ones must fit.
func (s *Store) SetCapacity(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Capacity = max(n, 0)
}

// resize changes a Writer's reservation from had to want bytes, within
// the capacity.
func (s *Store) resize(had, want int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if want > had {
		if err := s.fits(want - had); err != nil {
			return err
		}
	}
	s.pending += want - had
	return nil
}

func (s *Store) newWriter(id uint64, size int64) (*Writer, error) {
	dir, err := s.pickDir(id, size)
	if err != nil {
		return nil, err
	}
	final := s.path(dir, id)
	f, err := s.fs.OpenFile(final+tempExt, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	w := &Writer{s: s, id: id, dir: dir, tmp: final + tempExt, final: final, want: size, f: f}
	// Data starts after the header, which Commit writes once the length is
	// known.
	w.out = io.NewOffsetWriter(f, format.HeaderSize)
	w.bw = writerPool.Get().(*bufio.Writer)
	w.bw.Reset(w.out)
	if size >= 0 {
		w.crcs = make([]uint32, 0, format.NumBlocks(size))
	}
	return w, nil
}

// publish makes a committed chunk visible; reserved is its Writer's
// reservation, now taken by the chunk.
func (s *Store) publish(id uint64, dir int, size, reserved int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chunks[id] = entry{dir: dir, size: size}
	s.pending -= reserved
	s.writers--
	s.used += format.FileSize(size)
	delete(s.busy, id)
	delete(s.corrupt, id) // a fresh copy replaces a bad one
}

// release ends a Create that did not commit, with its reservation.
func (s *Store) release(id uint64, reserved int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending -= reserved
	s.writers--
	delete(s.busy, id)
}

// Writers returns how many chunks are being written now: created, and not
// yet committed or aborted.
func (s *Store) Writers() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.writers
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

func (s *Store) markCorrupt(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corrupt[id] = struct{}{}
}

// Delete removes chunk id and clears its Corrupt mark. Readers that have
// it open keep reading it. The removal of a chunk file is not fsynced:
// after a crash a deleted chunk may come back, and the master deletes it
// again. A packed chunk is deleted by a tombstone record, durable when
// Delete returns; its bytes are reclaimed when its volume is compacted.
func (s *Store) Delete(id uint64) error {
	return s.DeleteMany([]uint64{id})[0]
}

// DeleteMany deletes the chunks ids like Delete, and returns an error for
// each (nil where it was deleted). The tombstones of packed chunks in one
// data dir are appended together and share one group commit, so a batch
// of deletes costs one fsync per volume rather than one per chunk.
func (s *Store) DeleteMany(ids []uint64) []error {
	errs := make([]error, len(ids))
	packed := make(map[int][]int) // data dir -> indexes into ids
	entries := make([]entry, len(ids))
	for i, id := range ids {
		e, err := s.unindex(id)
		if err != nil {
			errs[i] = err
			continue
		}
		entries[i] = e
		if e.packed() {
			packed[e.dir] = append(packed[e.dir], i)
			continue
		}
		errs[i] = s.removeFile(id, e)
	}
	for dir, idx := range packed {
		batch := make([]uint64, len(idx))
		es := make([]entry, len(idx))
		for k, i := range idx {
			batch[k], es[k] = ids[i], entries[i]
		}
		for k, err := range s.deletePacked(dir, batch, es) {
			errs[idx[k]] = err
		}
	}
	return errs
}

// unindex takes chunk id out of the index for a delete and marks it busy
// (once compaction has finished copying it).
func (s *Store) unindex(id uint64) (entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.closed {
		if _, moving := s.moving[id]; !moving {
			break
		}
		s.moved.Wait() // compaction is copying it; delete the copy
	}
	e, ok := s.chunks[id]
	switch {
	case s.closed:
		return entry{}, fmt.Errorf("chunkserver: delete chunk %d: %w", id, ErrClosed)
	case !ok:
		delete(s.corrupt, id) // a quarantined chunk is not indexed
		return entry{}, fmt.Errorf("chunkserver: delete chunk %d: %w", id, ErrNotFound)
	}
	delete(s.chunks, id)
	s.busy[id] = struct{}{}
	return e, nil
}

// removeFile removes the file of chunk id, taken out of the index by
// unindex; on failure the chunk is restored.
func (s *Store) removeFile(id uint64, e entry) error {
	err := s.fs.Remove(s.path(e.dir, id))
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.busy, id)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.chunks[id] = e
		return fmt.Errorf("chunkserver: delete chunk %d: %w", id, err)
	}
	s.used -= format.FileSize(e.size)
	delete(s.corrupt, id)
	return nil
}

// File returns the path of the file holding chunk id (its chunk file, or
// the volume holding its record; Locate says where its data starts), for
// tools and fault tests.
func (s *Store) File(id uint64) (string, error) {
	path, _, err := s.lookup(id)
	if err != nil {
		return "", fmt.Errorf("chunkserver: chunk %d: %w", id, err)
	}
	return path, nil
}

// Stat describes chunk id. A chunk whose file is gone is ErrLost, as for
// Open.
func (s *Store) Stat(id uint64) (ChunkInfo, error) {
	for try := 0; ; try++ {
		path, e, err := s.lookup(id)
		if err != nil {
			return ChunkInfo{}, fmt.Errorf("chunkserver: stat chunk %d: %w", id, err)
		}
		if _, err := s.fs.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			return ChunkInfo{ID: id, Size: e.size}, nil
		}
		if try == movesTried || !s.relocated(id, e) {
			s.gone(id, e, nil)
			return ChunkInfo{}, fmt.Errorf("chunkserver: stat chunk %d: %w", id, ErrLost)
		}
	}
}

// Size returns the data bytes of stored chunk id from the index (no disk
// access), and whether the store holds it.
func (s *Store) Size(id uint64) (int64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.chunks[id]
	return e.size, ok
}

// List returns every stored chunk, sorted by id.
func (s *Store) List() []ChunkInfo {
	s.mu.RLock()
	out := make([]ChunkInfo, 0, len(s.chunks))
	for id, e := range s.chunks {
		out = append(out, ChunkInfo{ID: id, Size: e.size})
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b ChunkInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Len returns how many chunks the store holds, and how many of them were
// found corrupt (the lengths of List and Corrupt, without copying them).
func (s *Store) Len() (chunks, corrupt int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.chunks), len(s.corrupt)
}

// Corrupt returns the ids of chunks found corrupt, sorted: at Open, or by
// reads and Verify since. An id stays until Delete or a new Commit of it.
// A chunk found corrupt by a read stays listed and readable (its good
// blocks still are) until the master has it replaced and deleted.
func (s *Store) Corrupt() []uint64 {
	s.mu.RLock()
	out := make([]uint64, 0, len(s.corrupt))
	for id := range s.corrupt {
		out = append(out, id)
	}
	s.mu.RUnlock()
	slices.Sort(out)
	return out
}

// Usage returns the bytes the chunk files and volume files take (a deleted
// packed chunk's bytes count until compaction), and the capacity:
// those bytes plus the space still available on the data dirs' file
// systems, each file system counted once. Space used by other files is in
// neither, so capacity minus used is what the store can still take.
func (s *Store) Usage() (used, capacity int64, err error) {
	s.mu.RLock()
	used, limit := s.used+s.ahead, s.cfg.Capacity
	s.mu.RUnlock()
	seen := make(map[uint64]bool)
	var avail int64
	failed := s.failedSet()
	for i, d := range s.dirs {
		if failed[i] {
			continue // its chunks are forgotten and it takes no new ones
		}
		u, err := s.fs.Statfs(d.root)
		if err != nil {
			return 0, 0, fmt.Errorf("chunkserver: usage of %s: %w", d.root, err)
		}
		if !seen[u.Device] {
			seen[u.Device] = true
			avail += u.Avail
		}
	}
	capacity = used + avail
	if limit > 0 {
		capacity = min(capacity, limit)
	}
	return used, capacity, nil
}

// Close closes the Store: later calls to Create, Open, ReadRange, Verify,
// Stat and Delete fail with ErrClosed, and so does the Commit of a Writer
// still open. Open Readers keep working until closed. Close stops the
// compaction goroutine (waiting for a volume being rewritten to be done
// or abandoned) and closes the volumes once the records in flight are
// finished. Close is idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closed = true
	s.moved.Broadcast()
	s.mu.Unlock()
	s.compactor.stop()
	for _, p := range s.packers {
		p.close()
	}
	s.bg.Wait() // zeroings see the volume sealed and end
	return nil
}
