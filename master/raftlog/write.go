package raftlog

// Appends, segment rotation with spares zeroed ahead, and deletes.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/hashicorp/raft"
	"golang.org/x/sys/unix"
)

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
	// rather than write the same file. Only the taker clears preparing, so
	// it never tells of a spare that was already taken, nor misses one
	// still on its way.
	if s.preparing {
		f = <-s.spare
		s.preparing = false
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
	if g == nil || g.end < g.size/2 || s.preparing || s.closed.Load() {
		return
	}
	s.preparing = true
	s.wg.Add(1)
	go func() { // owned by the Store: Close waits for it
		defer s.wg.Done()
		f, err := s.zeroedFile(s.opts.SegmentSize)
		if err != nil {
			s.log.Warn("raft log: preparing the next segment failed; the rotation will make it", "err", err)
		}
		s.spare <- f // nil when it failed; room: one at a time (preparing)
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
