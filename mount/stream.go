package mount

import (
	"context"
	"sync"

	"github.com/granary-store/granary/client"
)

// stream writes one file into a client.Writer behind the FUSE requests: a
// write is copied into a queue (at most streamQueue buffers, each also
// taken from the memory budget) and a goroutine feeds the Writer, so the
// kernel's next request overlaps with the upload. Without budget the write
// waits for the queue to drain and goes straight in. An upload error is
// returned by a later write, by close or by abort's caller. The goroutine
// belongs to the stream: finish and abort end it.
type stream struct {
	w      *client.Writer
	cancel context.CancelFunc
	mem    *budget
	queue  chan []byte
	done   chan struct{}
	queued sync.WaitGroup // buffers not yet written

	mu  sync.Mutex
	err error // the first upload error
}

const streamQueue = 4

func newStream(w *client.Writer, cancel context.CancelFunc, mem *budget) *stream {
	s := &stream{w: w, cancel: cancel, mem: mem, queue: make(chan []byte, streamQueue), done: make(chan struct{})}
	go s.run()
	return s
}

func (s *stream) run() {
	defer close(s.done)
	for b := range s.queue {
		if s.failed() == nil {
			if _, err := s.w.Write(b); err != nil {
				s.fail(err)
			}
		}
		s.mem.give(int64(len(b)))
		s.queued.Done()
	}
}

func (s *stream) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *stream) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// write queues p (copied). Not safe for concurrent use; the node's mu
// serializes it.
func (s *stream) write(p []byte) error {
	if err := s.failed(); err != nil {
		return err
	}
	if !s.mem.take(int64(len(p))) {
		s.queued.Wait() // the goroutine is idle: write directly
		if err := s.failed(); err != nil {
			return err
		}
		if _, err := s.w.Write(p); err != nil {
			s.fail(err)
			return err
		}
		return nil
	}
	b := make([]byte, len(p))
	copy(b, p)
	s.queued.Add(1)
	s.queue <- b
	return nil
}

// finish waits for the queued writes and commits (Close), or aborts when
// an upload failed; it returns the first error.
func (s *stream) finish() error {
	close(s.queue)
	<-s.done
	defer s.cancel()
	if err := s.failed(); err != nil {
		s.w.Abort()
		return err
	}
	return s.w.Close()
}

// abort drops the stream: nothing is committed.
func (s *stream) abort() {
	s.fail(client.ErrAborted)
	close(s.queue)
	<-s.done
	s.w.Abort()
	s.cancel()
}
