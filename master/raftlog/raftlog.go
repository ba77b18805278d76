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
	"encoding/binary"
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
	"time"

	"github.com/hashicorp/raft"
	"golang.org/x/sys/unix"
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

	spare     chan *os.File // a zeroed file ready to become the next segment
	preparing atomic.Bool
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
			if err := s.zeroFrom(g, g.end); err != nil {
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

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func checkHeader(b []byte, first uint64) error {
	if len(b) < headerSize {
		return fmt.Errorf("%d bytes, shorter than a header", len(b))
	}
	if string(b[:8]) != magic {
		return errors.New("no segment magic")
	}
	if crc32.Checksum(b[:24], castagnoli) != binary.LittleEndian.Uint32(b[24:]) {
		return errors.New("header checksum mismatch")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != version {
		return fmt.Errorf("format version %d, this build reads %d", v, version)
	}
	if got := binary.LittleEndian.Uint64(b[16:]); got != first {
		return fmt.Errorf("header says first index %d, name says %d", got, first)
	}
	return nil
}

func putHeader(b []byte, first uint64) {
	clear(b[:headerSize])
	copy(b, magic)
	binary.LittleEndian.PutUint32(b[8:], version)
	binary.LittleEndian.PutUint64(b[16:], first)
	binary.LittleEndian.PutUint32(b[24:], crc32.Checksum(b[:24], castagnoli))
}

// scanRecord checks the record at the start of b: its length, n (0 with
// a nil error at the zeros that end a segment), and its index.
func scanRecord(b []byte) (n int, index uint64, err error) {
	if len(b) < recordHeader {
		if allZero(b) {
			return 0, 0, nil
		}
		return 0, 0, errors.New("record header cut short")
	}
	size := binary.LittleEndian.Uint32(b)
	if size == 0 {
		if allZero(b[:recordHeader]) {
			return 0, 0, nil
		}
		return 0, 0, errors.New("empty record with a checksum")
	}
	if size < bodyFixed || int64(size) > int64(len(b)-recordHeader) {
		return 0, 0, fmt.Errorf("record length %d does not fit", size)
	}
	body := b[recordHeader : recordHeader+int(size)]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return 0, 0, errors.New("record checksum mismatch")
	}
	return recordHeader + int(size), binary.LittleEndian.Uint64(body), nil
}

// appendRecord encodes l onto b.
func appendRecord(b []byte, l *raft.Log) []byte {
	start := len(b)
	size := bodyFixed + len(l.Data) + len(l.Extensions)
	b = binary.LittleEndian.AppendUint32(b, uint32(size))
	b = binary.LittleEndian.AppendUint32(b, 0) // the crc, below
	b = binary.LittleEndian.AppendUint64(b, l.Index)
	b = binary.LittleEndian.AppendUint64(b, l.Term)
	b = append(b, byte(l.Type))
	var at int64
	if !l.AppendedAt.IsZero() {
		at = l.AppendedAt.UnixNano()
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(at))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(l.Data)))
	b = append(b, l.Data...)
	b = append(b, l.Extensions...)
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+recordHeader:], castagnoli))
	return b
}

// decodeRecord fills l from a whole record, checked.
func decodeRecord(b []byte, want uint64, l *raft.Log) error {
	n, idx, err := scanRecord(b)
	if err == nil && n != len(b) {
		err = fmt.Errorf("record is %d bytes, its slot %d", n, len(b))
	}
	if err == nil && idx != want {
		err = fmt.Errorf("record has index %d", idx)
	}
	if err != nil {
		return fmt.Errorf("%w: entry %d: %w", ErrCorrupt, want, err)
	}
	body := b[recordHeader:]
	dlen := binary.LittleEndian.Uint32(body[25:])
	if int64(dlen) > int64(len(body)-bodyFixed) {
		return fmt.Errorf("%w: entry %d: data length %d does not fit", ErrCorrupt, want, dlen)
	}
	l.Index = idx
	l.Term = binary.LittleEndian.Uint64(body[8:])
	l.Type = raft.LogType(body[16])
	l.AppendedAt = time.Time{}
	if at := int64(binary.LittleEndian.Uint64(body[17:])); at != 0 {
		l.AppendedAt = time.Unix(0, at)
	}
	rest := body[bodyFixed:]
	l.Data = nil
	if dlen > 0 {
		l.Data = slices.Clone(rest[:dlen])
	}
	l.Extensions = nil
	if ext := rest[dlen:]; len(ext) > 0 {
		l.Extensions = slices.Clone(ext)
	}
	return nil
}

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

// StoreLog stores one entry.
func (s *Store) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }

// StoreLogs appends entries, each one past the last held (any index when
// the log is empty), and returns once they are on disk.
func (s *Store) StoreLogs(logs []*raft.Log) error {
	if len(logs) == 0 {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.failed != nil {
		return s.failed
	}
	if s.closed.Load() {
		return errors.New("raftlog: closed")
	}
	s.mu.RLock()
	next := s.last + 1
	empty := s.first == 0
	s.mu.RUnlock()
	for i, l := range logs {
		if l.Index == 0 || (!(empty && i == 0) && l.Index != next) {
			return fmt.Errorf("raftlog: entry %d out of order: the log holds up to %d", l.Index, next-1)
		}
		if len(l.Data)+len(l.Extensions) > MaxEntry {
			return fmt.Errorf("raftlog: entry %d is %d bytes, over %d", l.Index, len(l.Data)+len(l.Extensions), MaxEntry)
		}
		next = l.Index + 1
	}
	for len(logs) > 0 {
		g := s.lastSegment()
		if g == nil || g.end+recordSize(logs[0]) > g.size {
			var err error
			if g, err = s.rotate(logs[0]); err != nil {
				return s.fail(err)
			}
		}
		// As many entries as fit in this segment, in one write and sync.
		s.buf = s.buf[:0]
		offs := make([]int64, 0, len(logs))
		n := 0
		for _, l := range logs {
			if g.end+int64(len(s.buf))+recordSize(l) > g.size {
				break
			}
			offs = append(offs, g.end+int64(len(s.buf)))
			s.buf = appendRecord(s.buf, l)
			n++
		}
		if _, err := g.f.WriteAt(s.buf, g.end); err != nil {
			return s.fail(fmt.Errorf("raftlog: write %s: %w", g.path, err))
		}
		if err := s.sync(g.f); err != nil {
			return s.fail(err)
		}
		s.mu.Lock()
		g.offs = append(g.offs, offs...)
		g.end += int64(len(s.buf))
		if s.first == 0 {
			s.first = logs[0].Index
		}
		s.last = logs[n-1].Index
		s.mu.Unlock()
		logs = logs[n:]
		if len(s.buf) > 1<<20 {
			s.buf = nil // a rare big batch: do not keep its buffer
		}
	}
	s.prepareSpare()
	return nil
}

func recordSize(l *raft.Log) int64 {
	return recordHeader + bodyFixed + int64(len(l.Data)+len(l.Extensions))
}

// fail records that the files' state is unknown after err (a failed
// write or sync may have lost pages): later writes fail too, rather than
// build on it.
func (s *Store) fail(err error) error {
	s.failed = fmt.Errorf("raftlog: an earlier write failed, restart to recover: %w", err)
	return err
}

func (s *Store) sync(f *os.File) error {
	if s.opts.NoSync {
		return nil
	}
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return fmt.Errorf("raftlog: sync %s: %w", f.Name(), err)
	}
	return nil
}

func (s *Store) syncDir() error { return syncPath(s.dir, s.opts.NoSync) }

// rotate starts a new segment for entries from l on: a zeroed spare when
// one is ready, a new zeroed file otherwise. Called with wmu held.
func (s *Store) rotate(l *raft.Log) (*segment, error) {
	size := s.opts.SegmentSize
	if need := headerSize + recordSize(l); need > size {
		size = need
	}
	var f *os.File
	// No spare can start being prepared while wmu is held, and one being
	// prepared is always handed over (nil when it failed): wait for it
	// rather than write the same file.
	if s.preparing.Load() || len(s.spare) > 0 {
		f = <-s.spare
	}
	if f != nil {
		if st, err := f.Stat(); err != nil || st.Size() != size {
			f.Close()
			f = nil
		}
	}
	if f == nil {
		var err error
		if f, err = s.zeroedFile(size); err != nil {
			return nil, err
		}
	}
	hdr := make([]byte, headerSize)
	putHeader(hdr, l.Index)
	path := filepath.Join(s.dir, segmentName(l.Index))
	_, err := f.WriteAt(hdr, 0)
	if err == nil {
		err = os.Rename(filepath.Join(s.dir, spareName), path)
	}
	if err == nil {
		err = s.syncDir() // the name is durable before any entry in it is acknowledged
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("raftlog: new segment %s: %w", path, err)
	}
	g := &segment{first: l.Index, path: path, f: f, size: size, end: headerSize}
	s.mu.Lock()
	s.segs = append(s.segs, g)
	s.mu.Unlock()
	return g, nil
}

// zeroedFile creates the spare file, size bytes of zeros, synced.
func (s *Store) zeroedFile(size int64) (*os.File, error) {
	path := filepath.Join(s.dir, spareName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("raftlog: %w", err)
	}
	if err = writeZeros(f, 0, size); err == nil {
		err = s.sync(f)
	}
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("raftlog: zero %s: %w", path, err)
	}
	return f, nil
}

// prepareSpare zeroes the next segment in the background once the active
// one is half full, so a rotation does not wait on writing it. Called with
// wmu held.
func (s *Store) prepareSpare() {
	g := s.lastSegment()
	if g == nil || g.end < g.size/2 || len(s.spare) > 0 || s.closed.Load() || !s.preparing.CompareAndSwap(false, true) {
		return
	}
	s.wg.Add(1)
	go func() { // owned by the Store: Close waits for it
		defer s.wg.Done()
		defer s.preparing.Store(false)
		f, err := s.zeroedFile(s.opts.SegmentSize)
		if err != nil {
			s.log.Warn("raft log: preparing the next segment failed; the rotation will make it", "err", err)
		}
		s.spare <- f // nil when it failed; room: one at a time, only when none is waiting
	}()
}

// DeleteRange deletes the entries from min to max, inclusive: the whole
// log, a head (after a snapshot) or a tail (a follower's conflicting
// entries); a range in the middle is refused.
func (s *Store) DeleteRange(min, max uint64) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.failed != nil {
		return s.failed
	}
	s.mu.RLock()
	first, last := s.first, s.last
	s.mu.RUnlock()
	if first == 0 || min > max || max < first || min > last {
		return nil // nothing held in the range
	}
	switch {
	case min <= first && max >= last:
		return s.dropSegments(0, len(s.segs), 0, 0)
	case min <= first:
		// Drop the segments wholly at or below max; the first index moves
		// up to max+1 whatever the files still hold below it.
		k := 0
		for k < len(s.segs)-1 && s.segs[k].last() <= max {
			k++
		}
		return s.dropSegments(0, k, max+1, last)
	case max >= last:
		return s.truncateTail(min)
	default:
		return fmt.Errorf("raftlog: delete %d to %d: only a head or a tail of %d to %d can be deleted", min, max, first, last)
	}
}

// dropSegments removes segs[from:to], then sets first and last.
func (s *Store) dropSegments(from, to int, first, last uint64) error {
	dropped := slices.Clone(s.segs[from:to])
	s.mu.Lock()
	s.segs = slices.Delete(s.segs, from, to)
	s.first, s.last = first, last
	s.mu.Unlock()
	for _, g := range dropped {
		g.f.Close()
		if err := os.Remove(g.path); err != nil {
			return s.fail(fmt.Errorf("raftlog: %w", err))
		}
	}
	if len(dropped) > 0 {
		if err := s.syncDir(); err != nil {
			return s.fail(err)
		}
	}
	return nil
}

// truncateTail deletes the entries from min (> first) to the end: later
// segments go, and the records from min on are zeroed and synced.
func (s *Store) truncateTail(min uint64) error {
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].first > min }) - 1
	if err := s.dropSegments(i+1, len(s.segs), s.first, s.segs[i].last()); err != nil {
		return err
	}
	g := s.segs[i]
	if min == g.first { // the whole segment goes (it is not the first: min > first)
		return s.dropSegments(i, i+1, s.first, min-1)
	}
	from := g.offs[min-g.first]
	s.mu.Lock()
	g.offs = g.offs[:min-g.first]
	end := g.end
	g.end = from
	s.last = min - 1
	s.mu.Unlock()
	if err := s.zeroRange(g, from, end); err != nil {
		return s.fail(err)
	}
	return nil
}

// zeroFrom zeros a segment from off to its end (recovery of a torn tail).
func (s *Store) zeroFrom(g *segment, off int64) error {
	return s.zeroRange(g, off, g.size)
}

func (s *Store) zeroRange(g *segment, from, to int64) error {
	if err := writeZeros(g.f, from, to); err != nil {
		return fmt.Errorf("raftlog: zero %s: %w", g.path, err)
	}
	return s.sync(g.f)
}

// writeZeros writes zeros over [from, to) of f, a MiB at a time.
func writeZeros(f *os.File, from, to int64) error {
	zeros := make([]byte, min(max(to-from, 0), 1<<20))
	for off := from; off < to; off += int64(len(zeros)) {
		if _, err := f.WriteAt(zeros[:min(int64(len(zeros)), to-off)], off); err != nil {
			return err
		}
	}
	return nil
}

// Close waits for a spare being prepared and closes the files. Further
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
	select {
	case f := <-s.spare:
		if f != nil {
			f.Close() // left on disk: Open removes it
		}
	default:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.segs {
		g.f.Close()
	}
	s.segs, s.first, s.last = nil, 0, 0
}

// OpenMigrating opens the log in dir like Open, first moving into it the
// entries of old, the store the log was kept in before (raft-boltdb),
// and then deleting them there. The move is safe at any crash point: the
// entries are copied into dir+".migrating", synced, and that folder is
// renamed to dir before anything is deleted from old; a leftover
// ".migrating" folder is an unfinished copy and is done again, and old's
// entries, once dir exists, are leftovers to delete.
func OpenMigrating(dir string, old raft.LogStore, opts Options) (*Store, error) {
	tmp := dir + ".migrating"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, fmt.Errorf("raftlog: %w", err)
	}
	first, err := old.FirstIndex()
	if err != nil {
		return nil, fmt.Errorf("raftlog: old log: %w", err)
	}
	last, err := old.LastIndex()
	if err != nil {
		return nil, fmt.Errorf("raftlog: old log: %w", err)
	}
	_, statErr := os.Stat(dir)
	switch {
	case statErr == nil: // migrated already, or never needed
	case !errors.Is(statErr, os.ErrNotExist):
		return nil, fmt.Errorf("raftlog: %w", statErr)
	case last > 0:
		if err := copyLog(tmp, old, first, last, opts); err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
		if err := os.Rename(tmp, dir); err != nil {
			return nil, fmt.Errorf("raftlog: %w", err)
		}
		if err := syncPath(filepath.Dir(dir), opts.NoSync); err != nil {
			return nil, err
		}
		if opts.Logger != nil {
			opts.Logger.Info("raft log moved into segment files", "from", first, "to", last, "dir", dir)
		}
	}
	if last > 0 {
		if err := old.DeleteRange(first, last); err != nil {
			return nil, fmt.Errorf("raftlog: delete the moved entries from the old log: %w", err)
		}
	}
	return Open(dir, opts)
}

// copyLog writes old's entries first to last into a new log in dir.
func copyLog(dir string, old raft.LogStore, first, last uint64, opts Options) error {
	s, err := Open(dir, opts)
	if err != nil {
		return err
	}
	batch := make([]*raft.Log, 0, 256)
	flush := func() error {
		err := s.StoreLogs(batch)
		batch = batch[:0]
		return err
	}
	for i := first; i <= last && err == nil; i++ {
		l := new(raft.Log)
		if err = old.GetLog(i, l); err != nil {
			err = fmt.Errorf("raftlog: old log entry %d: %w", i, err)
			break
		}
		if batch = append(batch, l); len(batch) == cap(batch) {
			err = flush()
		}
	}
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	return errors.Join(err, s.Close())
}

func syncPath(path string, noSync bool) error {
	if noSync {
		return nil
	}
	d, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("raftlog: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("raftlog: sync %s: %w", path, err)
	}
	return nil
}
