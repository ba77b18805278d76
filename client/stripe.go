package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/granary-store/granary/internal/erasure"
	"github.com/granary-store/granary/internal/proto"
)

// Erasure-coded chunks. In a bucket whose data policy is rs-K-M each chunk
// of an object is one stripe: the client cuts its bytes into K data shards
// and M parity shards (internal/erasure's cell-striped layout) and streams
// the K+M shards to K+M servers at once, each an ordinary single-copy
// chunk. A shard that fails is written again alone to a fresh server. A
// read takes only the data shards that hold the range; when one is
// missing, slow or corrupt it reads the same rows from any K shards and
// rebuilds them (a degraded read), never more than degradedRows rows at a
// time.

// policyTTL is how long a bucket's data policy is cached; it is fixed when
// the bucket is created, so only a bucket deleted and created again with
// another policy sees the old one for that long.
const policyTTL = 30 * time.Second

// degradedRows bounds the rows a degraded read rebuilds at once: memory
// is about (K+1) * degradedRows * Cell.
const degradedRows = 4

type bucketPolicy struct {
	shape *proto.StripeShape // nil: replicated
	until time.Time
}

// stripeShape returns the erasure-coding shape of bucket's data policy,
// or nil when it is replicated.
func (c *Client) stripeShape(ctx context.Context, bucket string) (*proto.StripeShape, error) {
	now := time.Now()
	c.mu.Lock()
	p, ok := c.policies[bucket]
	c.mu.Unlock()
	if ok && now.Before(p.until) {
		return p.shape, nil
	}
	b, err := c.master.Bucket(ctx, bucket)
	if errors.Is(classify(err), ErrNoSuchBucket) {
		return nil, nil // the commit refuses it, as for any missing bucket
	}
	if err != nil {
		return nil, err
	}
	p = bucketPolicy{until: now.Add(policyTTL)}
	if b.DataPolicy != "" {
		dp, err := proto.ParseDataPolicy(b.DataPolicy)
		if err != nil {
			return nil, fmt.Errorf("client: bucket %s: %w", bucket, err)
		}
		if dp.IsErasure() {
			p.shape = &proto.StripeShape{K: dp.K, M: dp.M}
		}
	}
	c.mu.Lock()
	if c.policies == nil || len(c.policies) > 4096 {
		c.policies = map[string]bucketPolicy{}
	}
	c.policies[bucket] = p
	c.mu.Unlock()
	return p.shape, nil
}

// cellFor chooses a stripe's cell size for a chunk of n bytes: the K-th
// part of the chunk, rounded up to erasure.CellAlign, at most
// erasure.DefaultCell, so small chunks still spread over the data shards.
func cellFor(n int64, k int) int64 {
	c := (n + int64(k) - 1) / int64(k)
	c = (c + erasure.CellAlign - 1) / erasure.CellAlign * erasure.CellAlign
	return min(max(c, erasure.CellAlign), erasure.DefaultCell)
}

func layoutOf(st *proto.Stripe) erasure.Layout {
	return erasure.Layout{K: st.K, M: st.M, Cell: st.Cell}
}

// writeStripe encodes one chunk of n bytes as a stripe and writes its
// shards; it returns the stripe.
func (w *putter) writeStripe(src *chunkSource, n int64, shape proto.StripeShape) (*proto.Stripe, error) {
	l := erasure.Layout{K: shape.K, M: shape.M, Cell: cellFor(n, shape.K)}
	cts, err := w.c.master.Allocate(w.ctx, proto.AllocateRequest{Count: l.Shards(), Replication: 1,
		Stripe: &shape, Size: l.ShardSize(n, 0), Exclude: w.c.quietServers()})
	if err != nil && w.ctx.Err() == nil {
		// Too few servers without the quiet ones: try them after all.
		cts, err = w.c.master.Allocate(w.ctx, proto.AllocateRequest{Count: l.Shards(), Replication: 1,
			Stripe: &shape, Size: l.ShardSize(n, 0)})
	}
	if err != nil {
		return nil, fmt.Errorf("client: allocate stripe: %w", err)
	}
	if len(cts) != l.Shards() {
		return nil, fmt.Errorf("client: allocate stripe: %d of %d shards", len(cts), l.Shards())
	}
	todo := make([]int, l.Shards())
	for i := range todo {
		todo[i] = i
	}
	var failed []string
	for attempt := 0; ; attempt++ {
		bad, errs := w.writeShards(l, src, n, cts, todo)
		if len(bad) == 0 {
			break
		}
		if attempt+1 >= w.c.cfg.MaxAttempts || w.ctx.Err() != nil {
			return nil, fmt.Errorf("client: write stripe after %d attempts: %w", attempt+1, errors.Join(errs...))
		}
		// Each failed shard goes alone to a fresh server that holds no
		// other shard of the stripe.
		for _, i := range bad {
			failed = append(failed, cts[i].Targets[0].ID)
			w.c.noteAnswer(cts[i].Targets[0].ID, false)
		}
		for _, i := range bad {
			exclude := slices.Clone(failed)
			for j, ct := range cts {
				if j != i {
					exclude = append(exclude, ct.Targets[0].ID)
				}
			}
			one, err := w.c.master.Allocate(w.ctx, proto.AllocateRequest{Count: 1, Replication: 1,
				Exclude: exclude, Size: l.ShardSize(n, i)})
			if err != nil {
				return nil, fmt.Errorf("client: allocate a shard in place of %d (%w) after: %w", cts[i].ID, err, errors.Join(errs...))
			}
			cts[i] = one[0]
		}
		w.c.log.Debug("stripe shards failed; writing them again", "shards", bad, "err", errors.Join(errs...))
		todo = bad
	}
	st := &proto.Stripe{K: l.K, M: l.M, Cell: l.Cell, Shards: make([]uint64, l.Shards())}
	w.mu.Lock()
	for i, ct := range cts {
		st.Shards[i] = ct.ID
		w.written = append(w.written, proto.ChunkTargets{ID: ct.ID, Targets: ct.Targets})
	}
	w.mu.Unlock()
	w.progress(n)
	return st, nil
}

// writeShards encodes the chunk once more and streams the shards in todo
// to their targets at once (the others are computed and dropped). It
// returns the shards that failed and why.
func (w *putter) writeShards(l erasure.Layout, src *chunkSource, n int64, cts []proto.ChunkTargets, todo []int) ([]int, []error) {
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
			_, errs[i] = w.c.pipelineWrite(w.ctx, cts[i], body, size, nil)
			if pr != nil {
				pr.CloseWithError(errShardDone) // a failed write stops taking bytes: the encoder moves on
			}
		}()
	}
	enc, err := erasure.NewEncoder(l, sinks)
	if err == nil {
		if _, err = io.Copy(enc, src.open()); err == nil {
			err = enc.Close()
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
	return bad, out
}

var errShardDone = errors.New("client: shard write is over")

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

// readStripe writes take bytes at from of an erasure-coded extent into w:
// from the data shards that hold them, and from a degraded read of the
// rest when one of them fails.
func (o *Object) readStripe(w io.Writer, e proto.Extent, from, take int64) error {
	st := e.Stripe
	l := layoutOf(st)
	for _, sp := range l.Spans(e.Length, from, take) {
		cw := &countWriter{w: w}
		err := o.readExtent(cw, proto.Extent{Chunk: st.Shards[sp.Shard], ChunkOffset: sp.Off}, 0, sp.Len)
		if err == nil {
			continue
		}
		if o.ctx.Err() != nil {
			return err
		}
		done := sp.DataOff + cw.n
		o.c.log.Debug("stripe shard unreadable; reading degraded", "chunk", st.Shards[sp.Shard], "err", err)
		return o.readDegraded(w, e, done, from+take-done, map[int]bool{sp.Shard: true})
	}
	return nil
}

// readDegraded writes data bytes [off, off+n) of a stripe into w, rebuilt
// from any K readable shards, at most degradedRows rows at a time: each
// step reads the same shard window from K shards (erasure.Layout.Window:
// a 4 KiB read fetches 4 KiB from each), rebuilds the missing data shards
// and copies the bytes out.
func (o *Object) readDegraded(w io.Writer, e proto.Extent, off, n int64, bad map[int]bool) error {
	st := e.Stripe
	l := layoutOf(st)
	rowBytes := int64(st.K) * st.Cell
	for n > 0 {
		end := min(off+n, (off/rowBytes+degradedRows)*rowBytes)
		wOff, wLen := l.Window(e.Length, off, end-off)
		shards, err := o.readWindow(l, e, wOff, wLen, bad)
		if err != nil {
			return err
		}
		if err := l.ReconstructData(shards, e.Length, wOff, wLen); err != nil {
			return fmt.Errorf("%w: stripe %d of %s/%s: %w", ErrCorrupt, e.Chunk, o.info.Bucket, o.info.Key, err)
		}
		buf := make([]byte, end-off)
		if err := l.Extract(buf, shards, e.Length, wOff, off); err != nil {
			return err
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		n -= end - off
		off = end
	}
	return nil
}

// readWindow reads the shard window [wOff, wOff+wLen) of K readable shards
// (data shards first), marking the shards that fail in bad; the others
// stay nil.
func (o *Object) readWindow(l erasure.Layout, e proto.Extent, wOff, wLen int64, bad map[int]bool) ([][]byte, error) {
	st := e.Stripe
	shards := make([][]byte, l.Shards())
	have := 0
	var errs []error
	for i := 0; i < l.Shards() && have < l.K; i++ {
		if bad[i] {
			continue
		}
		off, n := l.ShardRange(e.Length, i, wOff, wLen)
		sw := &sliceWriter{buf: make([]byte, n)}
		if n > 0 {
			err := o.readExtent(sw, proto.Extent{Chunk: st.Shards[i], ChunkOffset: off}, 0, n)
			if err == nil && int64(sw.n) != n {
				err = fmt.Errorf("client: shard %d sent %d of %d bytes", st.Shards[i], sw.n, n)
			}
			if err != nil {
				if o.ctx.Err() != nil {
					return nil, err
				}
				bad[i] = true
				errs = append(errs, err)
				continue
			}
		}
		shards[i] = sw.buf
		have++
	}
	if have < l.K {
		return nil, fmt.Errorf("%w: stripe %d of %s/%s has %d readable shards, needs %d: %w",
			ErrNoReplica, e.Chunk, o.info.Bucket, o.info.Key, have, l.K, errors.Join(errs...))
	}
	return shards, nil
}

// DataPolicy is how a bucket's chunks are stored: rep-N or rs-K-M.
type DataPolicy = proto.DataPolicy

// ParseDataPolicy parses "rep-N" or "rs-K-M".
func ParseDataPolicy(s string) (DataPolicy, error) { return proto.ParseDataPolicy(s) }
