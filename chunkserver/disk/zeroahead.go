package disk

import (
	"fmt"
	"os"
	"syscall"
)

// Zeros ahead (Config.ZeroAhead). Appending a record to a volume grows
// the file: the file system allocates blocks and changes the file's size,
// so the fsync of the group commit is a journal commit too. Records
// written over zeros that are already durable change no metadata, and
// their group commit is an fdatasync of data alone: shorter, and cheaper
// for the kernel. So each active volume keeps up to ZeroAhead bytes of
// zeros written (and fdatasynced) past its records, refilled by a
// goroutine when less than half of them is left.

// zeroAheadMaxRecord is the largest record that asks for zeros ahead.
// Writing zeros costs the kernel about as much per byte as writing the
// records over them saves, so it pays where a record's cost is its group
// commit's latency, not its bytes: small records. Large ones take the
// zeros there are, and append past them.
const zeroAheadMaxRecord = 256 << 10

// zeroChunk is the most one write of zeros covers.
var zeroChunk = make([]byte, 1<<20)

// awaitZeros waits until no zeroing runs over [start, end), which the
// caller reserved: its record must not be overwritten with zeros.
func (a *appender) awaitZeros(start, end int64) {
	a.mu.Lock()
	for a.zeroTo > 0 && start < a.zeroTo && end > a.zeroFrom {
		a.cond.Wait()
	}
	a.mu.Unlock()
}

// zeroAhead starts a zeroing of the volume past its records when less than
// half of Config.ZeroAhead is left there, room allowing.
func (a *appender) zeroAhead() {
	s := a.p.s
	want := s.cfg.ZeroAhead
	a.mu.Lock()
	if want <= 0 || a.sealed || a.err != nil || a.zeroing || a.zeroFailed || a.zeroed-a.end >= want/2 {
		a.mu.Unlock()
		return
	}
	from, to := max(a.zeroed, a.end), min(a.end+want, s.cfg.VolumeMax)
	if to <= from {
		a.mu.Unlock()
		return
	}
	a.zeroing = true
	a.mu.Unlock()

	s.mu.Lock()
	err := s.fits(to - from)
	if err == nil {
		s.ahead += to - from
	}
	s.mu.Unlock()

	a.mu.Lock()
	start := max(from, a.end) // records taken meanwhile are not zeroed over
	if err != nil || start >= to || a.sealed {
		a.zeroing = false
		a.mu.Unlock()
		if err == nil {
			s.giveBack(to - from)
		}
		return
	}
	a.zeroFrom, a.zeroTo = start, to
	a.users++ // the file stays open until the zeroing ends
	a.mu.Unlock()
	s.giveBack(start - from)

	s.bg.Add(1)
	go func() { // owned by the store: Close waits for it; ends early once the volume seals
		defer s.bg.Done()
		defer a.leave()
		err := a.writeZeros(start, to)
		a.mu.Lock()
		var unused int64
		if err == nil {
			a.zeroed = to
		} else {
			a.zeroFailed = true
			unused = max(0, to-max(start, a.end))
		}
		a.zeroFrom, a.zeroTo, a.zeroing = 0, 0, false
		a.cond.Broadcast()
		a.mu.Unlock()
		s.giveBack(unused)
		if err != nil {
			s.log.Debug("cannot write zeros ahead in a volume; its records are appended", "path", a.vol.path, "err", err)
		}
	}()
}

// writeZeros writes zeros over [from, to) of the volume and makes them
// durable. It stops early, as a failure, when the volume seals.
func (a *appender) writeZeros(from, to int64) error {
	s := a.p.s
	for off := from; off < to; {
		a.mu.Lock()
		sealed := a.sealed
		a.mu.Unlock()
		if sealed {
			return fmt.Errorf("volume sealed at %d of %d", off, to)
		}
		n := min(int64(len(zeroChunk)), to-off)
		if _, err := a.f.WriteAt(zeroChunk[:n], off); err != nil {
			return err
		}
		off += n
	}
	if s.cfg.NoSync {
		return nil
	}
	return s.timeSync(func() error { return datasync(a.f) })
}

// giveBack returns n bytes of zeros ahead that will not be written, or
// not be overwritten by records, to the capacity.
func (s *Store) giveBack(n int64) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	s.ahead -= n
	s.mu.Unlock()
}

// datasync flushes f's data and the metadata needed to read it back (an
// fdatasync): unlike an fsync, not its times. Files that are not OS files
// (test file systems) are synced whole.
func datasync(f File) error {
	if of, ok := f.(*os.File); ok {
		for {
			err := syscall.Fdatasync(int(of.Fd()))
			if err != syscall.EINTR {
				if err != nil {
					return &os.PathError{Op: "fdatasync", Path: of.Name(), Err: err}
				}
				return nil
			}
		}
	}
	return f.Sync()
}
