package disk

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/granary-store/granary/chunkserver/disk/format"
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
			id, ok := format.ParseChunkName(e.Name())
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
	s.index(i, id, entry{dir: i, size: n})
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

// index adds chunk id, stored in dir i as e says, to the index. If another
// dir (or a chunk file and a record) already holds it, the two copies
// should be equal (chunks are immutable): the first one passing a full
// check stays; the other goes to quarantine (a chunk file) or is left as
// dead bytes (a record).
func (s *Store) index(i int, id uint64, e entry) {
	old, dup := s.chunks[id]
	if !dup {
		s.chunks[id] = e
		return
	}
	keep, drop := old, e
	reason := errors.New("duplicate of a good copy")
	if err := s.verifyEntry(id, old); err != nil {
		if err2 := s.verifyEntry(id, e); err2 != nil {
			delete(s.chunks, id)
			s.corrupt[id] = struct{}{}
			s.setAside(id, old, err)
			s.setAside(id, e, err2)
			return
		}
		keep, drop, reason = drop, keep, err
	}
	s.chunks[id] = keep
	s.setAside(id, drop, reason)
}

// setAside quarantines a chunk file left out of the index; a record left
// out is dead bytes in its volume, and only logged.
func (s *Store) setAside(id uint64, e entry, cause error) {
	if !e.packed() {
		s.quarantine(e.dir, id, cause)
		return
	}
	s.log.Warn("packed chunk copy left out", "chunk", id, "path", s.volPath(e.dir, e.vol), "offset", e.off, "cause", cause)
}

// verifyEntry reads and checks every byte of chunk id stored as e says.
func (s *Store) verifyEntry(id uint64, e entry) error {
	r, err := s.openEntry(id, e)
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
	to := filepath.Join(s.dirs[i].quarantine, format.ChunkName(id))
	if err := s.fs.Rename(from, to); err != nil {
		s.log.Warn("chunk set aside, but cannot be moved", "chunk", id, "path", from, "cause", cause, "err", err)
		return
	}
	s.log.Warn("chunk quarantined", "chunk", id, "path", to, "cause", cause)
}
