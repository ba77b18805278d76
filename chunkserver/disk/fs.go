package disk

import (
	"fmt"
	"io"
	"os"
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
	// Truncate changes the size of the file, like os.File.Truncate.
	Truncate(size int64) error
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
