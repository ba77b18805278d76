// Package stripe writes one erasure-coded stripe: it allocates K+M
// single-copy chunks through the caller, encodes a chunk's bytes with
// internal/erasure, streams the K+M shards to their servers at once, and
// writes a shard that failed again alone on a fresh server that holds no
// other shard of the stripe. The client library (inline erasure-coded
// writes) and the master's background conversion both use it, so the
// stripe format and the retry rule live in one place.
//
// The package does no I/O of its own: allocation and the shard writes are
// functions the caller supplies (the client calls the master's API and
// the data plane; the master its own allocator and the data plane), and
// the source is reopened for every attempt, since the encoder streams.
package stripe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"

	"github.com/granary-store/granary/internal/erasure"
	"github.com/granary-store/granary/internal/proto"
)

// CellFor chooses a stripe's cell size for a chunk of n bytes: the K-th
// part of the chunk, rounded up to erasure.CellAlign, at most
// erasure.DefaultCell, so small chunks still spread over the data shards.
func CellFor(n int64, k int) int64 {
	c := (n + int64(k) - 1) / int64(k)
	c = (c + erasure.CellAlign - 1) / erasure.CellAlign * erasure.CellAlign
	return min(max(c, erasure.CellAlign), erasure.DefaultCell)
}

// Writer writes stripes. Its functions are called concurrently (one
// WriteShard per shard at once); a Writer holds no state between stripes
// and is safe for concurrent use if its functions are.
type Writer struct {
	// Allocate hands out chunk ids with their targets: the K+M shards of
	// a stripe (req.Stripe set, one target each on distinct servers), or
	// one chunk of replication 1 in place of a failed shard.
	Allocate func(ctx context.Context, req proto.AllocateRequest) ([]proto.ChunkTargets, error)
	// WriteShard stores n bytes of body as the single-copy chunk ct. It
	// must read body until it fails or reaches n bytes.
	WriteShard func(ctx context.Context, ct proto.ChunkTargets, body io.Reader, n int64) error
	// Failed, when set, is told of each server whose shard failed.
	Failed func(server proto.NodeID)
	// MaxAttempts bounds the rounds of shard writes (at least 1).
	MaxAttempts int
	// Log receives a debug line per round of failed shards; nil discards.
	Log *slog.Logger
}

// Write encodes the n bytes open yields (called once per attempt, from
// the start) as one stripe of shape and writes its shards. It returns the
// stripe and where each shard was written. On error nothing is committed:
// the shards written are orphans for the master to collect.
func (w *Writer) Write(ctx context.Context, open func() (io.Reader, error), n int64, shape proto.StripeShape) (*proto.Stripe, []proto.ChunkTargets, error) {
	l := erasure.Layout{K: shape.K, M: shape.M, Cell: CellFor(n, shape.K)}
	cts, err := w.Allocate(ctx, proto.AllocateRequest{Count: l.Shards(), Replication: 1, Stripe: &shape, Size: l.ShardSize(n, 0)})
	if err != nil {
		return nil, nil, fmt.Errorf("stripe: allocate: %w", err)
	}
	if len(cts) != l.Shards() {
		return nil, nil, fmt.Errorf("stripe: allocate: %d of %d shards", len(cts), l.Shards())
	}
	todo := make([]int, l.Shards())
	for i := range todo {
		todo[i] = i
	}
	var failed []proto.NodeID
	for attempt := 0; ; attempt++ {
		bad, errs, srcErr := w.stream(ctx, l, open, n, cts, todo)
		if srcErr != nil {
			// The shards failed for want of bytes: not the servers' fault.
			return nil, nil, fmt.Errorf("stripe: read the source: %w", srcErr)
		}
		if len(bad) == 0 {
			break
		}
		if attempt+1 >= max(w.MaxAttempts, 1) || ctx.Err() != nil {
			return nil, nil, fmt.Errorf("stripe: write after %d attempts: %w", attempt+1, errors.Join(errs...))
		}
		for _, i := range bad {
			failed = append(failed, cts[i].Targets[0].ID)
			if w.Failed != nil {
				w.Failed(cts[i].Targets[0].ID)
			}
		}
		for _, i := range bad {
			exclude := slices.Clone(failed)
			for j, ct := range cts {
				if j != i {
					exclude = append(exclude, ct.Targets[0].ID)
				}
			}
			one, err := w.Allocate(ctx, proto.AllocateRequest{Count: 1, Replication: 1, Exclude: exclude, Size: l.ShardSize(n, i)})
			if err == nil && len(one) != 1 {
				err = fmt.Errorf("%d chunks", len(one))
			}
			if err != nil {
				return nil, nil, fmt.Errorf("stripe: allocate a shard in place of %d (%w) after: %w", cts[i].ID, err, errors.Join(errs...))
			}
			cts[i] = one[0]
		}
		if w.Log != nil {
			w.Log.Debug("stripe shards failed; writing them again", "shards", bad, "err", errors.Join(errs...))
		}
		todo = bad
	}
	st := &proto.Stripe{K: l.K, M: l.M, Cell: l.Cell, Shards: make([]proto.ChunkID, l.Shards())}
	written := make([]proto.ChunkTargets, len(cts))
	for i, ct := range cts {
		st.Shards[i] = ct.ID
		written[i] = proto.ChunkTargets{ID: ct.ID, Targets: ct.Targets}
	}
	return st, written, nil
}

// stream encodes the chunk once more and streams the shards in todo to
// their targets at once (the others are computed and dropped). It returns
// the shards that failed and why, and the source's error, if reading it
// failed.
func (w *Writer) stream(ctx context.Context, l erasure.Layout, open func() (io.Reader, error), n int64, cts []proto.ChunkTargets, todo []int) ([]int, []error, error) {
	sinks := make([]io.Writer, l.Shards())
	for i := range sinks {
		sinks[i] = io.Discard
	}
	errs := make([]error, l.Shards())
	var wg sync.WaitGroup
	pipes := map[int]*io.PipeWriter{}
	for _, i := range todo {
		size := l.ShardSize(n, i)
		var body io.Reader = bytes.NewReader(nil) // an empty shard (a short chunk) is still a chunk
		var pr *io.PipeReader
		if size > 0 {
			var pw *io.PipeWriter
			pr, pw = io.Pipe()
			pipes[i], sinks[i], body = pw, &shardSink{pw: pw}, pr
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.WriteShard(ctx, cts[i], body, size)
			if pr != nil {
				pr.CloseWithError(errShardDone) // a failed write stops taking bytes: the encoder moves on
			}
		}()
	}
	src, err := open()
	srcErr := err
	if err == nil {
		var enc *erasure.Encoder
		if enc, err = erasure.NewEncoder(l, sinks); err == nil {
			if _, err = io.CopyBuffer(enc, &errReader{r: src, err: &srcErr}, make([]byte, copyBuffer)); err == nil {
				err = enc.Close()
			}
		}
	}
	for _, pw := range pipes {
		pw.CloseWithError(err) // nil: EOF, the shard is complete
	}
	wg.Wait()
	var bad []int
	var out []error
	for _, i := range todo {
		if errs[i] == nil && err != nil {
			errs[i] = err
		}
		if errs[i] != nil {
			bad = append(bad, i)
			out = append(out, fmt.Errorf("shard %d (chunk %d): %w", i, cts[i].ID, errs[i]))
		}
	}
	return bad, out, srcErr
}

// errReader records the error of the reader it wraps (io.EOF aside), so
// a failed source tells apart from failed shards.
type errReader struct {
	r   io.Reader
	err *error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && *e.err == nil {
		*e.err = err
	}
	return n, err
}

var errShardDone = errors.New("stripe: shard write is over")

// shardSink feeds one shard's pipe and, once the pipe's write has failed,
// drops the rest so the other shards keep flowing.
type shardSink struct {
	pw     *io.PipeWriter
	failed bool
}

func (s *shardSink) Write(p []byte) (int, error) {
	if !s.failed {
		if _, err := s.pw.Write(p); err != nil {
			s.failed = true
		}
	}
	return len(p), nil
}

// copyBuffer is the size of the encoder's writes: larger than io.Copy's
// 32 KiB, so a streamed source (the master's conversion reads chunks off
// the network) is encoded in few large writes.
const copyBuffer = 256 << 10
