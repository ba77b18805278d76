package disk

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// Writer streams a new chunk into a temporary file, computing the block
// CRCs as the bytes pass, or, for a chunk of at most Config.PackMax bytes,
// gathers it in memory and appends it to a volume at Commit. A chunk of
// unknown size is gathered until it passes Config.PackMax, then goes on as
// a file. Nothing is visible until Commit returns nil, and Abort (or a
// failed Commit) removes every trace. Memory is bounded: a 256 KiB write
// buffer plus 4 bytes of CRC per 64 KiB written, or the packed chunk. A
// Writer belongs to one goroutine: its methods must not be called
// concurrently.
type Writer struct {
	s          *Store
	id         uint64
	dir        int    // index of the data dir in Store.dirs
	tmp, final string // paths, both in the same fan-out dir
	want       int64  // declared size, or -1
	reserved   int64  // file bytes of the capacity held (Store.reserve)
	f          File
	out        io.Writer     // the file, from just past the header
	bw         *bufio.Writer // buffers out
	n          int64         // data bytes accepted
	cur        uint32        // CRC of the current, unfinished block
	fill       int           // bytes in the current block
	crcs       []uint32      // CRCs of the finished blocks
	err        error         // the first failure; sticky
	done       bool          // committed or aborted
	pack       *[]byte       // a packed chunk: room for the record's head, then the data
	prefix     int           // bytes of room before the data in pack
	staged     *staged       // a packed chunk's record, written by Stage, not yet durable
}

// Write adds p to the chunk. Writing past the declared size fails with
// ErrSizeMismatch, past Config.MaxChunkSize with ErrTooLarge, and a full
// disk with ErrNoSpace; after a failure every call fails the same way and
// Commit aborts.
func (w *Writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, w.wrap("write", ErrClosed)
	}
	if w.err != nil {
		return 0, w.err
	}
	if err := w.checkSize(w.n + int64(len(p))); err != nil {
		w.err = err
		return 0, err
	}
	if w.pack != nil {
		if w.n+int64(len(p)) <= w.s.cfg.PackMax {
			*w.pack = append(*w.pack, p...)
			w.sum(p)
			w.n += int64(len(p))
			return len(p), nil
		}
		if err := w.spill(); err != nil {
			w.err = w.wrap("write", err)
			return 0, w.err
		}
	}
	dst := io.Writer(w.bw)
	if w.bw.Buffered() == 0 && len(p) >= w.bw.Size() {
		dst = w.out // large writes skip the copy into the buffer
	}
	n, err := dst.Write(p)
	w.sum(p[:n])
	w.n += int64(n)
	if err != nil {
		w.err = w.wrap("write", err)
		return n, w.err
	}
	return n, nil
}

func (w *Writer) checkSize(total int64) error {
	if w.want >= 0 && total > w.want {
		return fmt.Errorf("chunkserver: write chunk %d: %d bytes, declared %d: %w", w.id, total, w.want, ErrSizeMismatch)
	}
	if total > w.s.cfg.MaxChunkSize {
		return fmt.Errorf("chunkserver: write chunk %d: %d bytes, limit %d: %w", w.id, total, w.s.cfg.MaxChunkSize, ErrTooLarge)
	}
	return nil
}

// sum adds p to the running block CRCs.
func (w *Writer) sum(p []byte) {
	for len(p) > 0 {
		k := min(format.BlockSize-w.fill, len(p))
		w.cur = crc32.Update(w.cur, format.Castagnoli, p[:k])
		w.fill += k
		p = p[k:]
		if w.fill == format.BlockSize {
			w.crcs = append(w.crcs, w.cur)
			w.cur, w.fill = 0, 0
		}
	}
}

// Commit finishes the chunk: it checks the declared size, writes trailer
// and header, fsyncs the file, renames it to its final name and fsyncs the
// dir (no fsyncs with Config.NoSync). After a nil return the chunk is
// visible and durable. On failure the chunk is aborted: it is not visible,
// now or after a restart. Calls after the first return ErrClosed.
func (w *Writer) Commit() error {
	if w.done {
		return w.wrap("commit", ErrClosed)
	}
	if err := w.commit(); err != nil {
		w.abort()
		return err
	}
	w.done = true
	w.releaseBuffer()
	return nil
}

// releaseBuffer returns the write buffer to the pool once the writer is
// done with it (committed or aborted).
func (w *Writer) releaseBuffer() {
	if w.pack != nil {
		packPool.Put(w.pack)
		w.pack = nil
	}
	if w.bw != nil {
		w.bw.Reset(io.Discard)
		writerPool.Put(w.bw)
		w.bw = nil
	}
}

// Stage writes a packed chunk's record to its volume without waiting
// for it to be durable; Commit then waits for that. A writer of several
// replicas stages each of them and then commits each, so their group
// commits overlap without a goroutine per replica. For a chunk file, Stage
// does nothing and Commit does it all. A failed Stage aborts the chunk,
// as a failed Commit does.
func (w *Writer) Stage() error {
	if w.done {
		return w.wrap("stage", ErrClosed)
	}
	if w.pack == nil || w.staged != nil {
		return nil
	}
	err := w.complete()
	if err == nil {
		err = w.stagePacked()
	}
	if err != nil {
		w.abort()
		return err
	}
	return nil
}

func (w *Writer) commit() error {
	if w.staged != nil {
		return w.finishPacked()
	}
	if err := w.complete(); err != nil {
		return err
	}
	if w.pack != nil {
		if err := w.stagePacked(); err != nil {
			return err
		}
		return w.finishPacked()
	}
	h := format.EncodeHeader(w.id, w.n)
	if _, err := w.bw.Write(format.EncodeTrailer(h, w.crcs)); err != nil {
		return w.wrap("commit", err)
	}
	if err := w.bw.Flush(); err != nil {
		return w.wrap("commit", err)
	}
	if _, err := w.f.WriteAt(h, 0); err != nil {
		return w.wrap("commit", err)
	}
	if final := format.FileSize(w.n); final != w.reserved { // a chunk of unknown size
		if err := w.s.resize(w.reserved, final); err != nil {
			return w.wrap("commit", err)
		}
		w.reserved = final
	}
	if err := w.finish(); err != nil {
		return w.wrap("commit", err)
	}
	w.s.publish(w.id, w.dir, w.n, w.reserved)
	return nil
}

// complete checks that the chunk is whole and closes its last block.
func (w *Writer) complete() error {
	if w.err != nil {
		return w.err
	}
	if w.want >= 0 && w.n != w.want {
		return fmt.Errorf("chunkserver: commit chunk %d: wrote %d bytes, declared %d: %w", w.id, w.n, w.want, ErrSizeMismatch)
	}
	if w.s.isClosed() {
		return w.wrap("commit", ErrClosed)
	}
	if w.fill > 0 {
		w.crcs = append(w.crcs, w.cur)
		w.cur, w.fill = 0, 0
	}
	return nil
}

// finish makes the complete temporary file durable under its final name.
func (w *Writer) finish() error {
	fsys, sync := w.s.fs, !w.s.cfg.NoSync
	if sync {
		if err := w.s.timeSync(w.f.Sync); err != nil {
			return err
		}
	}
	f := w.f
	w.f = nil
	if err := f.Close(); err != nil {
		return err
	}
	if err := fsys.Rename(w.tmp, w.final); err != nil {
		return err
	}
	if !sync {
		return nil
	}
	if err := w.s.timeSync(func() error { return fsys.SyncDir(filepath.Dir(w.final)) }); err != nil {
		// The rename may not be durable, so undo it: the chunk must not
		// be visible when Commit fails. Should the Remove fail too, what
		// stays is a whole, valid chunk, never a half one.
		fsys.Remove(w.final)
		return err
	}
	return nil
}

// timeSync runs an fsync and reports its duration to Config.ObserveSync.
func (s *Store) timeSync(sync func() error) error {
	if s.cfg.ObserveSync == nil {
		return sync()
	}
	start := time.Now()
	err := sync()
	s.cfg.ObserveSync(time.Since(start))
	return err
}

// Abort discards the chunk and removes its temporary file. It does nothing
// after Commit or a previous Abort, so `defer w.Abort()` is the idiom.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	return w.abort()
}

func (w *Writer) abort() error {
	w.done = true
	if st := w.staged; st != nil { // the record is written: void it
		w.staged = nil
		st.void()
	}
	w.releaseBuffer()
	if w.f != nil {
		w.f.Close() // the file is being thrown away; its close error does not matter
		w.f = nil
	}
	var err error
	if w.tmp != "" { // not for a packed chunk
		err = w.s.fs.Remove(w.tmp)
	}
	w.s.release(w.id, w.reserved)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return w.wrap("abort", err)
	}
	return nil
}

func (w *Writer) wrap(op string, err error) error {
	return fmt.Errorf("chunkserver: %s chunk %d: %w", op, w.id, spaceErr(err))
}
