package disk

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The start-up scan of a data dir: it indexes good chunks, removes
// temporary files, and quarantines files that fail the cheap check.

// scan indexes the chunks of data dir i. Only Open calls it, so it runs
// without the lock.
func (s *Store) scan(i int) error {
	var found, temps, bad int
	for b := range 256 {
		fan := filepath.Join(s.dirs[i].chunks, fanout(uint64(b)))
		ents, err := s.fs.ReadDir(fan)
		if err != nil {
			return err
		}
		for _, e := range ents {
			path := filepath.Join(fan, e.Name())
			id, ok := parseChunkName(e.Name())
			switch {
			case strings.HasSuffix(e.Name(), tempExt):
				if err := s.fs.Remove(path); err != nil {
					// Harmless but for the space: it can never be taken for a chunk.
					s.log.Warn("cannot remove temporary file", "path", path, "err", err)
					continue
				}
				temps++
			case !ok || id&0xff != uint64(b):
				s.log.Warn("unknown file in data dir", "path", path)
			case s.scanChunk(i, id):
				found++
			default:
				bad++
			}
		}
	}
	s.log.Info("data dir scanned", "dir", s.dirs[i].root, "chunks", found, "temps_removed", temps, "corrupt", bad)
	return nil
}

// scanChunk runs the cheap check on one chunk file of dir i and indexes it
// or sets it aside. It reports whether the chunk was indexed.
func (s *Store) scanChunk(i int, id uint64) bool {
	path := s.path(i, id)
	n, err := s.checkFile(path, id)
	switch {
	case errors.Is(err, errUnsupported):
		// Probably written by a newer release: leave it for an upgrade.
		s.log.Error("chunk format unsupported, ignored", "chunk", id, "path", path, "err", err)
		return false
	case errors.Is(err, ErrCorrupt):
		s.corrupt[id] = struct{}{}
		s.quarantine(i, id, err)
		return false
	case err != nil:
		s.corrupt[id] = struct{}{}
		s.log.Warn("chunk unreadable, left in place", "chunk", id, "path", path, "err", err)
		return false
	}
	s.index(i, id, n)
	return true
}

func (s *Store) checkFile(path string, id uint64) (int64, error) {
	f, err := s.fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	_, n, err := checkHeader(f, id)
	return n, err
}

// index adds chunk id of dir i to the index. If another dir already holds
// it, the two copies should be equal (chunks are immutable): the first one
// passing a full check stays, the other goes to quarantine.
func (s *Store) index(i int, id uint64, n int64) {
	old, dup := s.chunks[id]
	if !dup {
		s.chunks[id] = entry{dir: i, size: n}
		return
	}
	keep, drop := old, entry{dir: i, size: n}
	reason := errors.New("duplicate of a good copy")
	if err := s.verifyFile(old.dir, id); err != nil {
		if err2 := s.verifyFile(i, id); err2 != nil {
			delete(s.chunks, id)
			s.corrupt[id] = struct{}{}
			s.quarantine(old.dir, id, err)
			s.quarantine(i, id, err2)
			return
		}
		keep, drop, reason = drop, keep, err
	}
	s.chunks[id] = keep
	s.quarantine(drop.dir, id, reason)
}

// verifyFile reads and checks every byte of chunk id in dir i.
func (s *Store) verifyFile(i int, id uint64) error {
	r, err := openReader(s.fs, s.path(i, id), id)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = r.CopyTo(io.Discard, 0, r.size)
	return err
}

// quarantine moves chunk id of dir i to the dir's quarantine folder, where
// an operator can look at it; a file of the same name there is replaced.
func (s *Store) quarantine(i int, id uint64, cause error) {
	from := s.path(i, id)
	to := filepath.Join(s.dirs[i].quarantine, chunkName(id))
	if err := s.fs.Rename(from, to); err != nil {
		s.log.Warn("chunk set aside, but cannot be moved", "chunk", id, "path", from, "cause", cause, "err", err)
		return
	}
	s.log.Warn("chunk quarantined", "chunk", id, "path", to, "cause", cause)
}
