package mount

import (
	"fmt"
	"os"
	"sync"
	"syscall"
)

// budget is a byte allowance shared by every open file (the memory
// buffers, or the spool's disk).
type budget struct {
	mu   sync.Mutex
	used int64
	max  int64
}

// take reserves n bytes, or returns false without reserving anything.
func (b *budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.max {
		return false
	}
	b.used += n
	return true
}

// give returns n reserved bytes.
func (b *budget) give(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// spoolFile is one open file's local copy. Its size is reserved in the
// spool budget before it grows; the file is unlinked at creation, so a
// crashed mount leaves nothing behind.
type spoolFile struct {
	f        *os.File
	reserved int64
	b        *budget
}

func newSpoolFile(dir string, b *budget) (*spoolFile, error) {
	f, err := os.CreateTemp(dir, "spool-*")
	if err != nil {
		return nil, fmt.Errorf("mount: create spool file: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("mount: unlink spool file: %w", err)
	}
	return &spoolFile{f: f, b: b}, nil
}

// grow reserves room for a file of size bytes: ENOSPC when the spool is
// full.
func (s *spoolFile) grow(size int64) error {
	if size <= s.reserved {
		return nil
	}
	if !s.b.take(size - s.reserved) {
		return syscall.ENOSPC
	}
	s.reserved = size
	return nil
}

// shrink returns the reservation above size.
func (s *spoolFile) shrink(size int64) {
	if size < s.reserved {
		s.b.give(s.reserved - size)
		s.reserved = size
	}
}

func (s *spoolFile) close() {
	s.f.Close()
	s.b.give(s.reserved)
	s.reserved = 0
}
