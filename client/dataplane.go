package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/granary-store/granary/internal/chunkclient"
	"github.com/granary-store/granary/internal/proto"
)

// pipelineWrite streams n bytes of body to the chunk's first target, which
// forwards them down the pipeline. It returns nil only when every replica
// holds the chunk durably; otherwise the id of the server at fault, when
// known.
func (c *Client) pipelineWrite(ctx context.Context, ct proto.ChunkTargets, body io.Reader, n int64, progress func(int64)) (NodeID, error) {
	if len(ct.Targets) == 0 {
		return "", fmt.Errorf("client: chunk %d has no targets", ct.ID)
	}
	first := ct.Targets[0]
	cr := &countingReader{r: body, add: progress}
	res, err := c.chunks.Put(ctx, ct.Targets, ct.ID, cr, n)
	cr.stop() // a failed attempt's transport may still be reading: it counts no more
	var se *chunkclient.StatusError
	switch {
	case errors.As(err, &se):
		server := se.Err.Server
		if server == "" {
			server = first.ID
		}
		return server, fmt.Errorf("client: write chunk %d: %w", ct.ID, se.Err)
	case errors.Is(err, chunkclient.ErrBadAnswer):
		return first.ID, fmt.Errorf("client: write chunk %d: %w", ct.ID, err)
	case err != nil:
		return first.ID, fmt.Errorf("client: write chunk %d to %s: %w", ct.ID, first.ID, err)
	}
	if len(res.Replicas) != len(ct.Targets) || res.Size != n {
		return "", fmt.Errorf("client: write chunk %d: %d of %d replicas, %d of %d bytes", ct.ID, len(res.Replicas), len(ct.Targets), res.Size, n)
	}
	return "", nil
}

// fanOutMax is the largest chunk written by fan-out rather than through a
// pipeline. A pipeline spares the writer's bandwidth: it sends the bytes
// once and each server forwards them, which is what large chunks need. A
// small chunk is latency, not bandwidth: through a pipeline it waits on
// one request per hop in series, by fan-out on the slowest of them at
// once.
const fanOutMax = 256 << 10

// startInlineMax is the largest chunk whose local replicas a fan-out
// writes from its own goroutine: it starts each (the bytes go to the
// volume's page cache, microseconds) and then commits each, so their group
// commits still overlap. That spares a goroutine per replica, whose
// wake-ups are what a small write waits on when the machine is busy.
// Larger replicas (direct I/O, chunk files) each get a goroutine, so their
// writes to the disk overlap too.
const startInlineMax = 32 << 10

// fanOutWrite sends the chunk to each of its targets at once, each
// writing its own replica and forwarding nothing (a target on this host
// is written directly, see ChunkWriter); open returns a fresh reader of
// the chunk's n bytes for each. It returns nil only when every replica
// holds the chunk durably; otherwise the id of the first server that
// failed, and the others are cut short (the chunk is retried on fresh
// targets, as a failed pipeline is). progress counts the bytes sent to
// the first target.
func (c *Client) fanOutWrite(ctx context.Context, ct proto.ChunkTargets, open func() io.Reader, n int64, progress func(int64)) (NodeID, error) {
	if len(ct.Targets) == 0 {
		return "", fmt.Errorf("client: chunk %d has no targets", ct.ID)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		failed NodeID
		err    error
	}
	var first answer
	note := func(a answer) {
		if a.err != nil && first.err == nil {
			first = a
			cancel() // the chunk goes elsewhere: the other replicas are moot
		}
	}
	type started struct {
		t      proto.Target
		commit func() error
		add    func(int64)
	}
	var inline []started
	answers := make(chan answer, len(ct.Targets))
	spawned := 0
	for i, t := range ct.Targets {
		add := progress
		if i > 0 {
			add = nil
		}
		lw := c.localWriter(t.ID)
		if lw != nil && n <= startInlineMax {
			if first.err != nil {
				continue // a replica failed already
			}
			commit, failed, err := c.startLocal(ctx, lw, t, ct.ID, open(), n)
			note(answer{failed, err})
			if err == nil {
				inline = append(inline, started{t, commit, add})
			}
			continue
		}
		one := proto.ChunkTargets{ID: ct.ID, Targets: []proto.Target{t}}
		spawned++
		go func() { // owned by this call, which waits for its answer; cancel cuts a remote one short
			var a answer
			if lw != nil {
				a.failed, a.err = c.writeLocal(ctx, lw, t, ct.ID, open(), n, add)
			} else {
				a.failed, a.err = c.pipelineWrite(ctx, one, open(), n, add)
			}
			answers <- a
		}()
	}
	for _, s := range inline {
		failed, err := c.commitLocal(s.commit, s.t, ct.ID, n, s.add)
		note(answer{failed, err})
	}
	for range spawned {
		note(<-answers)
	}
	return first.failed, first.err
}

// countingReader reports the bytes read through it to add, until stop:
// the HTTP transport may go on reading a request body in its own goroutine
// after the call returned, and those late reads must not reach add (the
// caller has moved on to a retry, from another goroutine).
type countingReader struct {
	r   io.Reader
	add func(int64)

	mu      sync.Mutex
	stopped bool
}

// errAttemptOver ends the reads of a body whose call has returned.
var errAttemptOver = errors.New("client: write attempt is over")

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return 0, errAttemptOver
	}
	if n > 0 && c.add != nil {
		c.add(int64(n))
	}
	return n, err
}

func (c *countingReader) stop() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
}

// readRange copies n bytes at off of a chunk from one server into w. The
// server verifies every block it sends; a body cut short carries the reason
// in the status trailer.
//
// With firstAnswer > 0, a replica that sends no response headers within it
// is given up on (errNoAnswer), so the caller can ask another replica.
func (c *Client) readRange(ctx context.Context, t proto.Target, chunk ChunkID, off, n int64, w io.Writer, firstAnswer time.Duration) (int64, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var timer *time.Timer
	if firstAnswer > 0 {
		timer = time.AfterFunc(firstAnswer, func() { cancel(fmt.Errorf("%w within %v", errNoAnswer, firstAnswer)) })
	}
	body, err := c.chunks.Get(ctx, t.Address, chunk, off, n)
	if timer != nil && !timer.Stop() { // it fired: the request was canceled
		if err == nil {
			body.Close()
		}
		err = context.Cause(ctx)
	}
	if err != nil {
		return 0, fmt.Errorf("client: read chunk %d from %s: %w", chunk, t.ID, err)
	}
	defer body.Close()
	bp := readBufs.Get().(*[]byte)
	got, err := io.CopyBuffer(w, body, *bp)
	readBufs.Put(bp)
	if err != nil {
		return got, fmt.Errorf("client: read chunk %d from %s: %w", chunk, t.ID, err)
	}
	if err := body.Verify(); err != nil {
		return got, fmt.Errorf("client: read chunk %d from %s: %w", chunk, t.ID, err)
	}
	if got != n {
		return got, fmt.Errorf("client: read chunk %d from %s: %d of %d bytes: %w", chunk, t.ID, got, n, io.ErrUnexpectedEOF)
	}
	return got, nil
}

// readBufs holds the buffers remote chunk reads are copied through: 256 KiB,
// so a 1 MiB read is 4 socket reads and 4 writes to the caller (in the
// gateway, each a socket write with its deadline) instead of io.Copy's 32.
var readBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// errNoAnswer means a replica sent no response headers in time.
var errNoAnswer = errors.New("no answer")

// silentFor is how long a chunk server that did not answer a read is asked
// last, so that a paused or cut-off server costs readers one ReplicaWait
// and not one per read.
const silentFor = 30 * time.Second

// readOrder returns replicas with the ones that recently did not answer
// moved to the end (order kept otherwise).
func (c *Client) readOrder(replicas []proto.Target) []proto.Target {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	var quiet []proto.Target
	out := make([]proto.Target, 0, len(replicas))
	for _, t := range replicas {
		if until, ok := c.silent[t.ID]; ok && now.Before(until) {
			quiet = append(quiet, t)
		} else {
			out = append(out, t)
		}
	}
	return append(out, quiet...)
}

// quietServers lists the chunk servers that recently failed a read or a
// write.
func (c *Client) quietServers() []NodeID {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	var out []NodeID
	for id, until := range c.silent {
		if now.Before(until) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// noteAnswer records whether a chunk server answered a read (or took a
// write).
func (c *Client) noteAnswer(id NodeID, answered bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if answered {
		delete(c.silent, id)
		return
	}
	if c.silent == nil {
		c.silent = map[NodeID]time.Time{}
	}
	c.silent[id] = time.Now().Add(silentFor)
}

// isCorrupt reports whether a read failed because the replica is bad.
func isCorrupt(err error) bool {
	return proto.CodeOf(err) == proto.CodeCorrupt || errors.Is(err, ErrReplicaCorrupt)
}
