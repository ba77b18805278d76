package chunkserver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// FS is the file system seam of the Store: every disk operation the store
// performs goes through it, so tests can inject faults (fail the i-th
// operation, report ENOSPC) without touching a real disk's behaviour.
// Paths are OS paths. Implementations must be safe for concurrent use.
type FS interface {
	// OpenFile opens a file like os.OpenFile.
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	// Rename renames a file like os.Rename, atomically replacing newname.
	Rename(oldname, newname string) error
	// Remove removes a file or empty directory like os.Remove.
	Remove(name string) error
	// MkdirAll creates a directory and its parents like os.MkdirAll.
	MkdirAll(dir string, perm os.FileMode) error
	// ReadDir lists a directory sorted by name, like os.ReadDir.
	ReadDir(dir string) ([]os.DirEntry, error)
	// Stat describes a file like os.Stat.
	Stat(name string) (os.FileInfo, error)
	// Statfs reports the space of the file system holding dir.
	Statfs(dir string) (DiskUsage, error)
	// SyncDir makes the entries of dir (creates, renames, removes) durable.
	SyncDir(dir string) error
}

// File is an open file as the Store uses it: positioned reads and writes
// only. Like *os.File, ReadAt and WriteAt may be called concurrently; Close
// must not race with other calls.
type File interface {
	io.ReaderAt
	io.WriterAt
	io.Closer
	// Sync flushes the file's data and metadata to stable storage.
	Sync() error
	// Stat describes the open file.
	Stat() (os.FileInfo, error)
}

// DiskUsage is the space of one file system, as FS.Statfs reports it.
type DiskUsage struct {
	// Device identifies the file system: data dirs with the same Device
	// share their space, and Usage counts it once.
	Device uint64
	// Total is the size of the file system in bytes.
	Total int64
	// Avail is the number of bytes an unprivileged writer may still use.
	Avail int64
}

// OSFS returns the FS of the operating system. It needs a Unix-like system
// (Linux in production) for Statfs and directory fsync.
func OSFS() FS { return osFS{} }

type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // a nil *os.File must not become a non-nil File
	}
	return f, nil
}

func (osFS) Rename(oldname, newname string) error        { return os.Rename(oldname, newname) }
func (osFS) Remove(name string) error                    { return os.Remove(name) }
func (osFS) MkdirAll(dir string, perm os.FileMode) error { return os.MkdirAll(dir, perm) }
func (osFS) ReadDir(dir string) ([]os.DirEntry, error)   { return os.ReadDir(dir) }
func (osFS) Stat(name string) (os.FileInfo, error)       { return os.Stat(name) }

func (osFS) Statfs(dir string) (DiskUsage, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return DiskUsage{}, &os.PathError{Op: "statfs", Path: dir, Err: err}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return DiskUsage{}, err
	}
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return DiskUsage{}, fmt.Errorf("statfs %s: no device number", dir)
	}
	bsize := int64(st.Bsize)
	return DiskUsage{
		Device: uint64(sys.Dev),
		Total:  int64(st.Blocks) * bsize,
		Avail:  int64(st.Bavail) * bsize,
	}, nil
}

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// The layout of a data dir (drawn in format.go) and the start-up scan.

// dataDir holds the paths of one data dir: its root, the chunks folder
// with the 256 fan-out dirs, and the quarantine folder.
type dataDir struct {
	root, chunks, quarantine string
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
// Create never has to make (and fsync) a dir, and the quarantine dir.
func (s *Store) prepare(d dataDir) error {
	for b := range 256 {
		if err := s.fs.MkdirAll(filepath.Join(d.chunks, fanout(uint64(b))), 0o755); err != nil {
			return err
		}
	}
	if err := s.fs.MkdirAll(d.quarantine, 0o755); err != nil {
		return err
	}
	if s.cfg.NoSync {
		return nil
	}
	for _, dir := range []string{d.root, d.chunks} {
		if err := s.fs.SyncDir(dir); err != nil {
			return err
		}
	}
	return nil
}

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
	_, err = r.copyTo(io.Discard, 0, r.size)
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
