package disk

import (
	"fmt"
	"path/filepath"
	"strconv"
)

// The layout of a data dir, drawn in format.go: paths, file names, and the
// folders Open makes.

// dataDir holds the paths of one data dir: its root, the chunks folder
// with the 256 fan-out dirs, the quarantine folder, and the volumes folder.
type dataDir struct {
	root, chunks, quarantine, volumes string
}

// path is the file of chunk id in data dir i.
func (s *Store) path(i int, id uint64) string {
	return filepath.Join(s.dirs[i].chunks, fanout(id), chunkName(id))
}

// chunkName is the file name of chunk id; fanout is its fan-out dir name.
func chunkName(id uint64) string {
	return fmt.Sprintf("%0*x%s", hexLen, id, chunkExt)
}

func fanout(id uint64) string { return fmt.Sprintf("%02x", id&0xff) }

// parseChunkName returns the id of a file named exactly chunkName(id).
func parseChunkName(name string) (uint64, bool) {
	if len(name) != hexLen+len(chunkExt) {
		return 0, false
	}
	id, err := strconv.ParseUint(name[:hexLen], 16, 64)
	if err != nil || chunkName(id) != name {
		return 0, false
	}
	return id, true
}

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
