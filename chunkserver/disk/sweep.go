package disk

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// Sweep checks, cheaply, that every indexed chunk still has its file and
// every data dir still answers: one stat per chunk file or volume, no data
// read (the scrubber reads the data, much more slowly, and so finds a
// packed chunk whose record is gone). A chunk whose file is gone is
// forgotten and listed by TakeLost, with every chunk of a lost volume. A data dir whose chunk directory cannot
// be read any more (a failed disk, a lost mount, an I/O error) is marked
// failed until the store is reopened: every chunk in it is forgotten as
// lost, and it takes no new chunks, while the other dirs keep serving.
// Sweep returns how many chunks it found lost.
func (s *Store) Sweep() (int, error) {
	if s.isClosed() {
		return 0, fmt.Errorf("chunkserver: sweep: %w", ErrClosed)
	}
	failed := s.failedSet()
	for i, d := range s.dirs {
		if failed[i] {
			continue
		}
		if _, err := s.fs.ReadDir(d.chunks); err != nil {
			s.failDir(i, err)
		}
	}
	s.mu.RLock()
	type item struct {
		id uint64
		e  entry
	}
	todo := make([]item, 0, len(s.chunks))
	for id, e := range s.chunks {
		todo = append(todo, item{id, e})
	}
	s.mu.RUnlock()
	n := 0
	vols := make(map[string]bool) // volume path -> present
	for _, it := range todo {
		path := s.entryPath(it.id, it.e)
		present, seen := vols[path]
		if !seen {
			_, err := s.fs.Stat(path)
			present = !errors.Is(err, fs.ErrNotExist)
			if it.e.packed() {
				vols[path] = present
			}
		}
		switch {
		case present:
		case it.e.packed():
			k, _ := s.loseVolume(it.e.dir, it.e.vol, 0, entry{})
			n += k
		case s.forget(it.id, it.e):
			n++
		}
	}
	return n, nil
}

// forget drops chunk id, stored as e says, from the index because its file
// (or its record: errRecordGone) is gone, and lists it for TakeLost. It reports whether it did: not when
// the chunk was deleted, moved or re-created meanwhile.
func (s *Store) forget(id uint64, e entry) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.chunks[id]
	if _, busy := s.busy[id]; !ok || busy || cur != e {
		return false
	}
	delete(s.chunks, id)
	delete(s.corrupt, id)
	if !e.packed() {
		s.used -= format.FileSize(e.size)
	} else if v := s.packers[e.dir].vols[e.vol]; v != nil {
		v.live -= format.RecordSize(e.size)
	}
	s.lost = append(s.lost, id)
	s.log.Warn("chunk lost", "chunk", id, "path", s.entryPath(id, e))
	return true
}

// failDir marks data dir i failed and forgets every chunk in it.
// Its volumes take no more records.
func (s *Store) failDir(i int, cause error) {
	defer s.packers[i].close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, done := s.failed[i]; done {
		return
	}
	s.failed[i] = cause
	for seq, v := range s.packers[i].vols {
		s.used -= v.size
		v.dropped = true
		delete(s.packers[i].vols, seq)
	}
	n := 0
	for _, id := range slices.Sorted(maps.Keys(s.chunks)) {
		if e := s.chunks[id]; e.dir == i {
			if !e.packed() {
				s.used -= format.FileSize(e.size)
			}
			delete(s.chunks, id)
			delete(s.corrupt, id)
			s.lost = append(s.lost, id)
			n++
		}
	}
	s.log.Error("data dir failed; its chunks are reported lost", "dir", s.dirs[i].root, "chunks", n, "err", cause)
}

// failedSet returns the failed dirs' indexes (nil, without allocating,
// when none has failed: the common case, on every Create).
func (s *Store) failedSet() map[int]bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.failed) == 0 {
		return nil
	}
	out := make(map[int]bool, len(s.failed))
	for i := range s.failed {
		out[i] = true
	}
	return out
}

// TakeLost returns, once each, the chunks found lost since the last call:
// files gone, or in a data dir that failed.
func (s *Store) TakeLost() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.lost
	s.lost = nil
	return out
}

// FailedDirs returns the data dirs found failed, with why, sorted by path.
func (s *Store) FailedDirs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.failed))
	for i, err := range s.failed {
		out = append(out, s.dirs[i].root+": "+err.Error())
	}
	slices.Sort(out)
	return out
}
