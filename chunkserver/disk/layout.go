package disk

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// The layout of a data dir, drawn in package format's doc: paths, file names, the
// folders Open makes, and the choice of a data dir for a new chunk.

// dataDir holds the paths of one data dir: its root, the chunks folder
// with the 256 fan-out dirs, the quarantine folder, and the volumes folder.
type dataDir struct {
	root, chunks, quarantine, volumes string
}

// path is the file of chunk id in data dir i.
func (s *Store) path(i int, id uint64) string {
	return filepath.Join(s.dirs[i].chunks, fanout(id), format.ChunkName(id))
}

// fanout is the name of chunk id's fan-out dir.
func fanout(id uint64) string { return fmt.Sprintf("%02x", id&0xff) }

// prepare creates the layout of a data dir: 256 fan-out dirs, so that a
// Create never has to make (and fsync) a dir, the quarantine dir and the
// volumes dir.
func (s *Store) prepare(d dataDir) error {
	for b := range 256 {
		if err := s.fs.MkdirAll(filepath.Join(d.chunks, fanout(uint64(b))), 0o755); err != nil {
			return err
		}
	}
	for _, dir := range []string{d.quarantine, d.volumes} {
		if err := s.fs.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if s.cfg.NoSync {
		return nil
	}
	for _, dir := range []string{d.root, d.chunks} {
		if err := s.timeSync(func() error { return s.fs.SyncDir(dir) }); err != nil {
			return err
		}
	}
	return nil
}

// pickDir chooses the data dir for a new chunk by rendezvous hashing
// weighted by free space: every dir with room scores -avail/ln(u), u a hash
// of (id, dir) in (0,1), and the best score wins. So a dir is picked with a
// probability proportional to its free space: emptier disks fill faster,
// yet writes still spread over all disks (always taking the emptiest one
// would send every write to a newly added disk), and dirs that share one
// file system share its writes evenly.
func (s *Store) pickDir(id uint64, size int64) (int, error) {
	need := int64(1)
	if size >= 0 {
		need = format.FileSize(size)
	}
	best, bestScore := -1, math.Inf(-1)
	var errs []error
	failed := s.failedSet()
	for i, d := range s.dirs {
		if failed[i] {
			errs = append(errs, fmt.Errorf("data dir %s failed", d.root))
			continue
		}
		u, err := s.fs.Statfs(d.root)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if u.Avail < need {
			continue
		}
		if score := -float64(u.Avail) / math.Log(unitHash(id, i)); score > bestScore {
			best, bestScore = i, score
		}
	}
	switch {
	case best >= 0:
		return best, nil
	case len(errs) == len(s.dirs):
		return -1, errors.Join(errs...)
	}
	return -1, fmt.Errorf("no data dir has %d bytes free: %w", need, ErrNoSpace)
}

// unitHash maps (id, dir) to a uniform float64 in (0, 1) (splitmix64).
func unitHash(id uint64, i int) float64 {
	x := id ^ (uint64(i)+1)*0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	x ^= x >> 31
	return (float64(x>>11) + 0.5) / (1 << 53)
}
