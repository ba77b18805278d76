package disk

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// Direct I/O for large records (Config.DirectMin). A record written with
// O_DIRECT goes from an aligned buffer to the disk without a copy into
// the page cache, whose fresh pages cost more CPU than the copy itself on
// a virtual machine. Direct I/O writes whole 4 KiB blocks at 4 KiB
// offsets, so the record starts on a block boundary and the gaps around
// it hold void records, which the scan skips:
//
//	from          off                     off+n         end
//	| void (pre)  | record                  | void (post) |
//	              ^ 4 KiB aligned                         ^ 4 KiB aligned
//
// The pre void's header is written through the page cache like any small
// record (its block is shared with the record before it); the record and
// the post void go in one direct write of [off, end). Nothing else is
// ever written in those blocks, so buffered and direct writes never share
// a page of the file.

// dioAlign is the alignment of direct I/O: offsets, lengths and memory.
const dioAlign = 4096

var errNoDirect = errors.New("no direct I/O")

func alignUp(n int64) int64 { return (n + dioAlign - 1) &^ (dioAlign - 1) }

// directLayout places a record of n bytes written with direct I/O at the
// end from of a volume: the record at off, the bytes taken up to end.
// Both gaps are 0 or a length a void record has.
func directLayout(from, n int64) (off, end int64) {
	off = alignUp(from)
	if g := off - from; g != 0 && !format.PadFits(g) {
		off += dioAlign
	}
	end = alignUp(off + n)
	if g := end - off - n; g != 0 && !format.PadFits(g) {
		end += dioAlign
	}
	return off, end
}

// recordRoom is the most room the record of a packed chunk of n bytes
// takes in a volume, which its Writer holds against Config.Capacity: the
// record, and at most its padding when it is written with direct I/O.
func (s *Store) recordRoom(n int64) int64 {
	r := format.RecordSize(n)
	if s.cfg.DirectMin > 0 && r >= s.cfg.DirectMin {
		r += 3 * dioAlign // each gap is less than a block and a void record
	}
	return r
}

// dioPool holds aligned buffers for direct writes, each big enough for a
// 1 MiB chunk's record and its padding.
var dioPool sync.Pool

func getDIOBuf(n int64) *[]byte {
	if bp, _ := dioPool.Get().(*[]byte); bp != nil && int64(cap(*bp)) >= n {
		*bp = (*bp)[:n]
		return bp
	}
	size := max(n, alignUp(format.RecordSize(1<<20))+2*dioAlign)
	raw := make([]byte, size+dioAlign)
	skip := int((dioAlign - uintptr(unsafe.Pointer(&raw[0]))%dioAlign) % dioAlign)
	b := raw[skip : skip+int(size) : skip+int(size)][:n]
	return &b
}

// directFile returns the volume opened for direct I/O, opening it on the
// first call; nil when the file system refuses (then the Store stops
// trying for every volume: it has no direct I/O).
func (a *appender) directFile() File {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.dfTried {
		return a.df
	}
	a.dfTried = true
	s := a.p.s
	f, err := s.fs.OpenFile(a.vol.path, os.O_WRONLY|syscall.O_DIRECT, 0)
	if err != nil {
		if errors.Is(err, syscall.EINVAL) && !s.noDirect.Swap(true) {
			s.log.Info("the file system has no direct I/O: large records go through the page cache", "path", a.vol.path)
		} else if !errors.Is(err, syscall.EINVAL) {
			s.log.Warn("cannot open a volume for direct I/O: this one's records go through the page cache", "path", a.vol.path, "err", err)
		}
		return nil
	}
	a.df = f
	return f
}

// writeDirect writes rec at off, reserved by take as [from, end) with
// directLayout, padding included; it may write the padding into rec's
// spare capacity, which the caller must own. A direct write that fails is done again
// through the page cache (the volume's next fdatasync decides); if that
// fails too, the volume fails: its records not yet durable fail.
func (a *appender) writeDirect(rec []byte, from, off, end int64) error {
	n := int64(len(rec))
	if pre := off - from; pre > 0 {
		pad, _ := format.PadRecord(pre)
		if _, err := a.f.WriteAt(pad[:format.RecHeaderSize], from); err != nil {
			err = fmt.Errorf("append to volume %s: %w", a.vol.path, err)
			a.fail(err)
			return err
		}
	}
	// The writer's buffer serves when it is aligned (a large allocation
	// starts on a page) and has room for the padding; else a copy.
	var buf []byte
	if uintptr(unsafe.Pointer(unsafe.SliceData(rec)))%dioAlign == 0 && int64(cap(rec)) >= end-off {
		buf = rec[:end-off]
	} else {
		bp := getDIOBuf(end - off)
		defer dioPool.Put(bp)
		buf = *bp
		copy(buf, rec)
	}
	tail := buf[n:]
	if len(tail) > 0 {
		pad, _ := format.PadRecord(int64(len(tail)))
		copy(tail, pad)
	}
	err := errNoDirect
	if df := a.directFile(); df != nil {
		if _, err = df.WriteAt(buf, off); err != nil {
			a.p.s.log.Warn("a direct write failed; writing through the page cache", "path", a.vol.path, "err", err)
		}
	}
	if err != nil {
		_, err = a.f.WriteAt(buf, off)
	}
	if err != nil {
		err = fmt.Errorf("append to volume %s: %w", a.vol.path, err)
		a.fail(err)
		return err
	}
	a.wrote(from, end)
	return nil
}
