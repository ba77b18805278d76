package mount

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/granary-store/granary/client"
)

// readAhead serves one handle's reads of one object version. A reader that
// continues where its last read ended gets blocks fetched ahead of it, up
// to ReadAheadBlocks of ReadAhead bytes, each taken from the mount's memory
// budget (no budget, no read-ahead); other reads go straight to the
// object. The fetching goroutines belong to the readAhead: close waits for
// them.
type readAhead struct {
	m    *mountFS
	obj  *client.Object
	size int64
	bs   int64

	mu     sync.Mutex
	next   int64 // the end of the furthest recent read
	blocks map[int64]*block
	closed bool
	wg     sync.WaitGroup
}

type block struct {
	done chan struct{}
	data []byte
	err  error
}

func newReadAhead(m *mountFS, obj *client.Object) *readAhead {
	return &readAhead{m: m, obj: obj, size: obj.Size(), bs: m.cfg.ReadAhead, blocks: map[int64]*block{}}
}

func (r *readAhead) readAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, nil
	}
	p = p[:min(int64(len(p)), r.size-off)]
	r.mu.Lock()
	// The kernel keeps several reads in flight and they may arrive out of
	// order: near the last position counts as sequential.
	end := off + int64(len(p))
	sequential := off >= r.next-2*r.bs && off <= r.next+2*r.bs
	if sequential {
		r.next = max(r.next, end)
	} else {
		r.next = end
	}
	if !sequential || r.closed {
		r.mu.Unlock()
		return r.direct(p, off)
	}
	first := off / r.bs
	for idx := range r.blocks {
		if idx < first {
			r.dropLocked(idx)
		}
	}
	for idx := first; idx < first+int64(r.m.cfg.ReadAheadBlocks) && idx*r.bs < r.size; idx++ {
		if r.blocks[idx] == nil && !r.startLocked(idx) {
			break
		}
	}
	r.mu.Unlock()
	n := 0
	for n < len(p) {
		cur := off + int64(n)
		r.mu.Lock()
		b := r.blocks[cur/r.bs]
		r.mu.Unlock()
		if b == nil {
			k, err := r.direct(p[n:], cur)
			return n + k, err
		}
		select {
		case <-b.done:
		case <-ctx.Done():
			return n, ctx.Err()
		}
		if b.err != nil {
			return n, b.err
		}
		n += copy(p[n:], b.data[cur%r.bs:])
	}
	return n, nil
}

func (r *readAhead) direct(p []byte, off int64) (int, error) {
	k, err := r.obj.ReadAt(p, off)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return k, err
}

// startLocked starts fetching block idx if the memory budget allows.
func (r *readAhead) startLocked(idx int64) bool {
	n := min(r.bs, r.size-idx*r.bs)
	if !r.m.mem.take(n) {
		return false
	}
	b := &block{done: make(chan struct{}), data: make([]byte, n)}
	r.blocks[idx] = b
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(b.done)
		k, err := r.obj.ReadAt(b.data, idx*r.bs)
		if errors.Is(err, io.EOF) && int64(k) == n {
			err = nil
		}
		b.err = err
		r.m.stats.readAheadBytes.Add(int64(k))
	}()
	return true
}

func (r *readAhead) dropLocked(idx int64) {
	b := r.blocks[idx]
	delete(r.blocks, idx)
	r.m.mem.give(int64(len(b.data)))
}

// close waits for the fetches in flight and frees every block.
func (r *readAhead) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.wg.Wait()
	r.mu.Lock()
	for idx := range r.blocks {
		r.dropLocked(idx)
	}
	r.mu.Unlock()
}
