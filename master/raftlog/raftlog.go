// Package raftlog keeps the master's Raft log (hashicorp/raft's LogStore)
// in append-only segment files, so that a batch of entries costs one write
// and one fdatasync. The B+tree store it replaces (raft-boltdb) paid two
// fsyncs per batch, one for the pages and one for the meta page, and every
// PUT waits for that batch.
//
// # Format (version 1)
//
// A segment is a file named by the index of its first entry, 20 decimal
// digits and ".wal". It is created at its full size, filled with zeros
// and synced (ahead of need, in the background), so that appending to it
// later changes no file size or extent: an fdatasync then writes the data
// and flushes the device, with no journal commit of the file system's
// metadata.
//
//	header (32 bytes):
//	  magic "GRNRLOG1" | version u32 | 0 u32 | first index u64 |
//	  crc32c of the 24 bytes before it u32 | 0 u32
//	records, from offset 32, back to back:
//	  body length u32 (> 0) | crc32c of the body u32 | body
//	  body: index u64 | term u64 | type u8 | appended at, Unix ns i64
//	        (0: unset) | data length u32 | data | extensions (the rest)
//	zeros after the last record (a body length of 0 ends the segment)
//
// All integers are little-endian. Entries are dense: each record's index
// is one past the one before it, across segments too.
//
// # Crashes and damage
//
// A crash can tear only the last batch, at the end of the last segment:
// on open, the first record there that is cut short or fails its checksum
// ends the log, and the bytes after it are zeroed before anything is
// appended. A record that fails its checksum in any other segment is
// damage, not a torn write: Open refuses the log rather than silently
// dropping entries that were acknowledged. A record that fails its
// checksum when read back is an error, never an entry.
//
// # Deletes
//
// Raft deletes from the head after a snapshot and from the tail when a
// follower's log conflicts with its leader's. A head delete removes the
// segments wholly before the new first index; the entries left before it
// in the first segment stay on disk, so after a restart FirstIndex may be
// lower than before (they are committed entries older than the snapshot,
// which Raft handles). A tail delete zeros the deleted records and syncs
// before it returns, so they cannot come back after a crash.
package raftlog

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// Format constants (version 1).
const (
	magic        = "GRNRLOG1"
	version      = 1
	headerSize   = 32
	recordHeader = 8  // body length, crc
	bodyFixed    = 29 // index, term, type, appended at, data length
	suffix       = ".wal"
	spareName    = "spare.tmp"
)

// DefaultSegmentSize is Options.SegmentSize's default.
const DefaultSegmentSize = 16 << 20

// MaxEntry bounds one entry's data plus extensions: far above anything the
// master proposes (its commands are kilobytes), far below a segment's
// length field.
const MaxEntry = 64 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt reports a record that failed its checks where no crash can
// have left it.
var ErrCorrupt = errors.New("raftlog: corrupt")

// Options tune Open.
type Options struct {
	// SegmentSize is the size a segment is created with (0:
	// DefaultSegmentSize); an entry larger than a segment gets a segment
	// of its own, sized to fit.
	SegmentSize int64
	// NoSync skips the fdatasyncs: for tests and --no-sync only; a crash
	// may then lose acknowledged entries.
	NoSync bool
	// Logger receives what recovery did; nil discards it.
	Logger *slog.Logger
}

// Store is a raft.LogStore (and raft.MonotonicLogStore). It is safe for
// concurrent use: writes (StoreLogs, DeleteRange) are serialized among
// themselves, and reads go on while a write waits on the disk.
type Store struct {
	dir  string
	opts Options
	log  *slog.Logger

	wmu    sync.Mutex // serializes StoreLogs and DeleteRange
	failed error      // a write or sync failed: the files' state is unknown (guarded by wmu)
	buf    []byte     // encoding buffer (guarded by wmu)

	mu          sync.RWMutex // guards what readers see
	segs        []*segment   // oldest first
	first, last uint64       // 0, 0: empty

	spare     chan *os.File  // a zeroed file ready to become the next segment
	preparing bool           // a goroutine sends (or has sent) one spare nobody took yet; under wmu
	wg        sync.WaitGroup // the preparing goroutine
	closed    atomic.Bool
}

// segment is one file. Its fields change under Store.mu (and Store.wmu).
type segment struct {
	first uint64
	path  string // f's name since it was renamed into place
	f     *os.File
	size  int64
	offs  []int64 // offs[i]: where the record of index first+i starts
	end   int64   // where the next record goes
}

// last returns the index of the segment's last record (first-1 if none).
func (g *segment) last() uint64 { return g.first + uint64(len(g.offs)) - 1 }

// Open opens the log in dir, creating dir when missing, and recovers it
// as the package doc says.
func Open(dir string, opts Options) (*Store, error) {
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if opts.SegmentSize < headerSize+recordHeader+bodyFixed {
		return nil, fmt.Errorf("raftlog: segment size %d is too small", opts.SegmentSize)
	}
	s := &Store{dir: dir, opts: opts, log: opts.Logger, spare: make(chan *os.File, 1)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("raftlog: %w", err)
	}
	if err := s.load(); err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

// load reads every segment, oldest first, and recovers the last one's tail.
func (s *Store) load() error {
	names, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("raftlog: %w", err)
	}
	var firsts []uint64
	for _, e := range names {
		name := e.Name()
		switch {
		case name == spareName: // a spare being prepared when the process stopped
			if err := os.Remove(filepath.Join(s.dir, name)); err != nil {
				return fmt.Errorf("raftlog: %w", err)
			}
		case strings.HasSuffix(name, suffix):
			n, err := strconv.ParseUint(strings.TrimSuffix(name, suffix), 10, 64)
			if err != nil || segmentName(n) != name {
				return fmt.Errorf("raftlog: %s: not a segment name", filepath.Join(s.dir, name))
			}
			firsts = append(firsts, n)
		}
	}
	slices.Sort(firsts)
	for i, first := range firsts {
		isLast := i == len(firsts)-1
		g, err := s.openSegment(first, isLast)
		if errors.Is(err, errDropped) {
			continue
		}
		if err != nil {
			return err
		}
		if isLast && len(g.offs) == 0 {
			// Rotated to, but no entry in it reached the disk: without
			// entries its first index means nothing, so it goes.
			g.f.Close()
			if err := os.Remove(g.path); err != nil {
				return fmt.Errorf("raftlog: %w", err)
			}
			if err := s.syncDir(); err != nil {
				return err
			}
			continue
		}
		if prev := s.lastSegment(); prev != nil && len(g.offs) > 0 && g.first != prev.last()+1 {
			g.f.Close()
			return fmt.Errorf("%w: %s starts at %d, after %d", ErrCorrupt, g.path, g.first, prev.last())
		}
		if len(g.offs) == 0 && i < len(firsts)-1 {
			g.f.Close()
			return fmt.Errorf("%w: %s holds no entry but is not the last segment", ErrCorrupt, g.path)
		}
		s.segs = append(s.segs, g)
	}
	for _, g := range s.segs {
		if len(g.offs) > 0 {
			if s.first == 0 {
				s.first = g.first
			}
			s.last = g.last()
		}
	}
	return nil
}

func (s *Store) lastSegment() *segment {
	if len(s.segs) == 0 {
		return nil
	}
	return s.segs[len(s.segs)-1]
}

func segmentName(first uint64) string { return fmt.Sprintf("%020d%s", first, suffix) }

// openSegment reads one segment's header and records. In the last segment
// a bad record is a torn write: the log ends there and the rest is zeroed.
func (s *Store) openSegment(first uint64, isLast bool) (*segment, error) {
	path := filepath.Join(s.dir, segmentName(first))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("raftlog: %w", err)
	}
	fail := func(err error) (*segment, error) {
		f.Close()
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return fail(fmt.Errorf("raftlog: %w", err))
	}
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return fail(fmt.Errorf("raftlog: read %s: %w", path, err))
	}
	if err := checkHeader(data, first); err != nil {
		if isLast && allZero(data) { // created, not yet written when the process stopped
			return fail(s.dropEmpty(path, err))
		}
		return fail(fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err))
	}
	g := &segment{first: first, path: path, f: f, size: st.Size(), end: headerSize}
	for {
		n, idx, err := scanRecord(data[g.end:])
		if n == 0 && err == nil {
			break // zeros: the end
		}
		if err == nil && idx != g.first+uint64(len(g.offs)) {
			err = fmt.Errorf("record at %d has index %d, want %d", g.end, idx, g.first+uint64(len(g.offs)))
		}
		if err != nil {
			if !isLast {
				return fail(fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err))
			}
			s.log.Warn("raft log: torn tail cut (a crash during the last write)", "segment", path, "offset", g.end, "entries", len(g.offs), "reason", err)
			if err := s.zeroRange(g, g.end, g.size); err != nil {
				return fail(err)
			}
			break
		}
		g.offs = append(g.offs, g.end)
		g.end += int64(n)
	}
	return g, nil
}

// dropEmpty removes a last segment whose header never reached the disk.
func (s *Store) dropEmpty(path string, why error) error {
	s.log.Warn("raft log: removing a segment created but never written", "segment", path, "reason", why)
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("raftlog: %w", err)
	}
	return errDropped
}

var errDropped = errors.New("raftlog: dropped")

// FirstIndex returns the first index held (0: none).
func (s *Store) FirstIndex() (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.first, nil
}

// LastIndex returns the last index held (0: none).
func (s *Store) LastIndex() (uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.last, nil
}

// IsMonotonic tells Raft that entries are dense: after restoring a
// snapshot it deletes the whole log rather than leaving a gap.
func (s *Store) IsMonotonic() bool { return true }

// GetLog reads entry index, checked; raft.ErrLogNotFound when not held.
func (s *Store) GetLog(index uint64, l *raft.Log) error {
	s.mu.RLock()
	defer s.mu.RUnlock() // held while reading: a delete closes files under mu
	if s.first == 0 || index < s.first || index > s.last {
		return raft.ErrLogNotFound
	}
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].first > index }) - 1
	g := s.segs[i]
	k := index - g.first
	off, end := g.offs[k], g.end
	if k+1 < uint64(len(g.offs)) {
		end = g.offs[k+1]
	}
	b := make([]byte, end-off)
	if _, err := g.f.ReadAt(b, off); err != nil {
		return fmt.Errorf("raftlog: read entry %d: %w", index, err)
	}
	return decodeRecord(b, index, l)
}

// calls fail.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.wg.Wait()
	s.closeFiles()
	return nil
}

func (s *Store) closeFiles() {
	if s.preparing {
		s.preparing = false
		if f := <-s.spare; f != nil {
			f.Close() // left on disk: Open removes it
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.segs {
		g.f.Close()
	}
	s.segs, s.first, s.last = nil, 0, 0
}
