package client

import (
	"context"
	"io"
	"sync"
)

// Writer streams one object into the cluster: an io.WriteCloser for data
// whose size is not known up front (a CLI pipe, a FUSE file being
// written). Bytes are cut into chunks as they arrive and each chunk is
// sent through its pipeline once it is full, so memory stays bounded
// (Config.MemoryBuffer per chunk, larger chunks spooled to a temporary
// file) however much is written. Nothing is visible until Close commits
// the object, atomically; an error, or Abort, leaves the key as it was
// (chunks already sent become orphans the master collects).
//
// Write must not be called concurrently with itself or Close; Abort may
// be called from any goroutine at any time.
type Writer struct {
	pw     *io.PipeWriter
	cancel context.CancelFunc
	done   chan struct{} // closed when the Put has returned

	// set by the Put goroutine before done is closed
	obj ObjectInfo
	err error

	once sync.Once
}

// NewWriter starts writing bucket/key; opts are as for Put. The Writer
// owns a goroutine until Close or Abort: call one of them.
func (c *Client) NewWriter(ctx context.Context, bucket, key string, opts *PutOptions) (*Writer, error) {
	if err := validBucketKey(bucket, key); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	w := &Writer{pw: pw, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.obj, w.err = c.Put(ctx, bucket, key, pr, -1, opts)
		if w.err != nil {
			pr.CloseWithError(w.err) // later Writes fail with the Put's error
		} else {
			pr.CloseWithError(io.ErrClosedPipe)
		}
	}()
	return w, nil
}

// Write implements io.Writer. It returns once the bytes are taken into
// the current chunk; an error means the write failed and nothing will be
// committed (Close returns the same error).
func (w *Writer) Write(p []byte) (int, error) {
	return w.pw.Write(p)
}

// Close ends the data and commits the object, returning the Put's error
// if any. It is idempotent: later calls return the same result.
func (w *Writer) Close() error {
	w.finish(nil)
	return w.err
}

// Abort ends the write without committing anything and waits for the
// Writer's goroutine; Close then returns ErrAborted. After Close, Abort
// does nothing.
func (w *Writer) Abort() {
	w.finish(ErrAborted)
}

// Info returns the committed object's record after a Close that returned
// nil.
func (w *Writer) Info() ObjectInfo {
	<-w.done
	return w.obj
}

// finish closes the data stream (with reason, or at EOF when nil) and
// waits for the Put goroutine.
func (w *Writer) finish(reason error) {
	w.once.Do(func() {
		if reason != nil {
			w.pw.CloseWithError(reason)
			w.cancel()
		} else {
			w.pw.Close()
		}
		<-w.done
		w.cancel()
		if reason != nil && w.err != nil {
			w.err = reason
		}
	})
}
