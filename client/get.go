package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// Object is an open object: an io.Reader, io.ReaderAt and io.Seeker over
// one version of it (the one current when it was opened). Reads go to the
// replicas in turn: on an error, a checksum mismatch or a timeout the next
// replica is tried, and a corrupt replica is reported to the master.
// ReadAt is safe for concurrent use; Read and Seek share a position and
// are not.
type Object struct {
	c    *Client
	ctx  context.Context
	info proto.Object
	locs map[ChunkID][]proto.Target
	pos  int64

	mu     sync.Mutex // guards the read-ahead window
	winOff int64
	win    []byte
}

// windowSize is the read-ahead of small reads: a run of small Read or
// ReadAt calls costs one request per window, not one per call.
const windowSize = 256 << 10

// Open looks an object up and returns a handle on its current version.
func (c *Client) Open(ctx context.Context, bucket, key string) (*Object, error) {
	if err := validBucketKey(bucket, key); err != nil {
		return nil, err
	}
	l, err := c.master.Locate(ctx, bucket, key)
	if err != nil {
		return nil, classify(fmt.Errorf("client: open %s/%s: %w", bucket, key, err))
	}
	o := &Object{c: c, ctx: ctx, info: l.Object, locs: map[ChunkID][]proto.Target{}}
	for _, ct := range l.Locations {
		o.locs[ct.ID] = ct.Targets
	}
	return o, nil
}

// Get returns a stream of an object's bytes. Close it when done.
func (c *Client) Get(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	o, err := c.Open(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	if o.info.Extents == nil {
		return io.NopCloser(bytes.NewReader(o.info.Inline)), nil
	}
	pr, pw := io.Pipe()
	go func() { // owned by the pipe: ends when the reader closes or the data ends
		_, err := o.WriteTo(pw)
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// Info returns the object's metadata.
func (o *Object) Info() ObjectInfo { return o.info }

// Size returns the object's length.
func (o *Object) Size() int64 { return o.info.Size }

// Close releases the handle.
func (o *Object) Close() error { return nil }

// Read implements io.Reader.
func (o *Object) Read(p []byte) (int, error) {
	if o.pos >= o.info.Size {
		return 0, io.EOF
	}
	n, err := o.ReadAt(p, o.pos)
	o.pos += int64(n)
	if errors.Is(err, io.EOF) && n > 0 {
		err = nil
	}
	return n, err
}

// Seek implements io.Seeker.
func (o *Object) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += o.pos
	case io.SeekEnd:
		offset += o.info.Size
	default:
		return 0, fmt.Errorf("client: seek: bad whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("client: seek to negative offset %d", offset)
	}
	o.pos = offset
	return offset, nil
}

// ReadAt implements io.ReaderAt.
func (o *Object) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("client: read at negative offset %d", off)
	}
	if off >= o.info.Size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), o.info.Size-off)
	if want < windowSize && o.info.Extents != nil {
		if err := o.fromWindow(p[:want], off); err != nil {
			return 0, classify(err)
		}
	} else {
		w := &sliceWriter{buf: p[:want]}
		if err := o.copyRange(w, off, want); err != nil {
			return w.n, classify(err)
		}
	}
	if want < int64(len(p)) {
		return int(want), io.EOF
	}
	return int(want), nil
}

// fromWindow serves a small read from the read-ahead window, refilling it
// from off when the range is not inside.
func (o *Object) fromWindow(p []byte, off int64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	end := off + int64(len(p))
	if off < o.winOff || end > o.winOff+int64(len(o.win)) {
		n := min(windowSize, o.info.Size-off)
		buf := make([]byte, n)
		w := &sliceWriter{buf: buf}
		if err := o.copyRange(w, off, n); err != nil {
			o.win = nil
			return err
		}
		o.winOff, o.win = off, buf
	}
	copy(p, o.win[off-o.winOff:end-o.winOff])
	return nil
}

// WriteRange streams object bytes [off, off+n) into w.
func (o *Object) WriteRange(w io.Writer, off, n int64) (int64, error) {
	if off < 0 || n < 0 || off+n > o.info.Size {
		return 0, fmt.Errorf("client: range [%d,+%d) of a %d-byte object", off, n, o.info.Size)
	}
	cw := &countWriter{w: w}
	err := o.copyRange(cw, off, n)
	return cw.n, classify(err)
}

// WriteTo streams the whole object into w.
func (o *Object) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: w}
	err := o.copyRange(cw, 0, o.info.Size)
	return cw.n, classify(err)
}

// copyRange writes object bytes [off, off+n) into w, extent by extent.
func (o *Object) copyRange(w io.Writer, off, n int64) error {
	if o.info.Extents == nil {
		_, err := w.Write(o.info.Inline[off : off+n])
		return err
	}
	ex := o.info.Extents
	i := sort.Search(len(ex), func(i int) bool { return ex[i].Offset+ex[i].Length > off })
	for end := off + n; off < end && i < len(ex); i++ {
		e := ex[i]
		from := off - e.Offset
		take := min(e.Length-from, end-off)
		if err := o.readExtent(w, e, from, take); err != nil {
			return err
		}
		off += take
	}
	return nil
}

// readExtent reads take bytes at from within extent e, moving to the next
// replica on failure and resuming where the previous one stopped.
func (o *Object) readExtent(w io.Writer, e proto.Extent, from, take int64) error {
	if e.Stripe != nil {
		return o.readStripe(w, e, from, take)
	}
	replicas := o.c.localFirst(o.c.readOrder(o.locs[e.Chunk]))
	if len(replicas) == 0 {
		return fmt.Errorf("%w: chunk %d of %s/%s", ErrNoReplica, e.Chunk, o.info.Bucket, o.info.Key)
	}
	var errs []error
	for i, t := range replicas {
		ctx, cancel := context.WithTimeout(o.ctx, o.c.cfg.RequestTimeout+deadlineFor(take))
		wait := o.c.cfg.ReplicaWait
		if i == len(replicas)-1 {
			wait = 0 // the last replica gets the whole request timeout
		}
		var got int64
		var err error
		if lr := o.c.local(t.ID); lr != nil {
			got, err = o.c.readLocal(lr, t, e.Chunk, e.ChunkOffset+from, take, w)
		} else {
			got, err = o.c.readRange(ctx, t, e.Chunk, e.ChunkOffset+from, take, w, wait)
		}
		cancel()
		from, take = from+got, take-got
		if silent := errors.Is(err, errNoAnswer); silent || (err == nil && i > 0) {
			o.c.noteAnswer(t.ID, !silent)
		}
		if err == nil {
			return nil
		}
		errs = append(errs, err)
		if o.ctx.Err() != nil {
			return err
		}
		if isCorrupt(err) {
			o.report(e.Chunk, t.ID, err)
		}
	}
	return fmt.Errorf("%w: chunk %d of %s/%s: %w", ErrCorrupt, e.Chunk, o.info.Bucket, o.info.Key, errors.Join(errs...))
}

// deadlineFor allows a transfer of n bytes at no less than 1 MiB/s.
func deadlineFor(n int64) time.Duration { return time.Duration(n>>20) * time.Second }

func (o *Object) report(chunk ChunkID, server NodeID, cause error) {
	o.c.log.Warn("corrupt replica", "chunk", chunk, "server", server, "err", cause)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(o.ctx), 5*time.Second)
	defer cancel()
	if err := o.c.master.ReportCorrupt(ctx, proto.CorruptReport{Chunk: chunk, Server: server, Reason: truncate(cause.Error())}); err != nil {
		o.c.log.Warn("report corrupt replica", "chunk", chunk, "server", server, "err", err)
	}
}

func truncate(s string) string {
	if len(s) > 512 {
		return s[:512]
	}
	return s
}

type sliceWriter struct {
	buf []byte
	n   int
}

func (s *sliceWriter) Write(p []byte) (int, error) {
	if len(p) > len(s.buf)-s.n {
		return 0, errors.New("client: replica sent more than asked")
	}
	copy(s.buf[s.n:], p)
	s.n += len(p)
	return len(p), nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
