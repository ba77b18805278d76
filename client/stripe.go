package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/granary-store/granary/internal/erasure"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/stripe"
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

func layoutOf(st *proto.Stripe) erasure.Layout {
	return erasure.Layout{K: st.K, M: st.M, Cell: st.Cell}
}

// writeStripe encodes one chunk of n bytes as a stripe and writes its
// shards (internal/stripe: K+M single-copy writes at once, a failed shard
// written again alone on a fresh server); it returns the stripe.
func (w *putter) writeStripe(src *chunkSource, n int64, shape proto.StripeShape) (*proto.Stripe, error) {
	sw := stripe.Writer{
		Allocate: func(ctx context.Context, req proto.AllocateRequest) ([]proto.ChunkTargets, error) {
			if req.Stripe == nil {
				return w.c.master.Allocate(ctx, req)
			}
			quiet := req
			quiet.Exclude = w.c.quietServers()
			cts, err := w.c.master.Allocate(ctx, quiet)
			if err != nil && ctx.Err() == nil {
				// Too few servers without the quiet ones: try them after all.
				cts, err = w.c.master.Allocate(ctx, req)
			}
			return cts, err
		},
		WriteShard: func(ctx context.Context, ct proto.ChunkTargets, body io.Reader, n int64) error {
			_, err := w.c.pipelineWrite(ctx, ct, body, n, nil)
			return err
		},
		Failed:      func(server NodeID) { w.c.noteAnswer(server, false) },
		MaxAttempts: w.c.cfg.MaxAttempts,
		Log:         w.c.log,
	}
	st, written, err := sw.Write(w.ctx, func() (io.Reader, error) { return src.open(), nil }, n, shape)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	w.mu.Lock()
	w.written = append(w.written, written...)
	w.mu.Unlock()
	w.progress(n)
	return st, nil
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
