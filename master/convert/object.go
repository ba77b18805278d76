package convert

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/stripe"
	"github.com/granary-store/granary/master/meta"
)

// errNothingToDo: the version is laid out and classed as asked already
// (converted by an earlier leader, or queued twice).
var errNothingToDo = errors.New("master: conversion: nothing to do")

// convertAttempts bounds the rounds of shard writes of one stripe.
const convertAttempts = 5

// convert lays one version out under j.Policy and swaps it in if it is
// still the version the job saw; it returns the object's bytes.
func (c *Converter) convert(ctx context.Context, j Job) (int64, error) {
	o, err := c.version(j)
	if err != nil {
		return 0, err
	}
	if j.Version != 0 && o.Version != j.Version {
		return 0, fmt.Errorf("master: conversion of %s/%s: version %d is now %d: %w", j.Bucket, j.Key, j.Version, o.Version, meta.ErrPrecondition)
	}
	cmd := meta.ReplaceExtents{Bucket: j.Bucket, Key: j.Key, IfVersion: o.Version, VersionID: j.VersionID, StorageClass: j.Class}
	var written []proto.ChunkTargets
	if !j.Policy.Lays(o.Extents) {
		if !j.Policy.IsErasure() {
			return 0, fmt.Errorf("master: conversion of %s/%s to %s: the leader converts replicated chunks to stripes only (granary admin convert rewrites stripes): %w",
				j.Bucket, j.Key, j.Policy, meta.ErrInvalid)
		}
		if cmd.Extents, written, err = c.rewrite(ctx, o, j.Policy); err != nil {
			return 0, err
		}
	} else if j.Class == "" || j.Class == o.StorageClass {
		return 0, errNothingToDo
	}
	actx, cancel := context.WithTimeout(ctx, c.cfg.ApplyTimeout)
	defer cancel()
	if _, err := c.cfg.Apply(actx, meta.OpReplaceExtents, cmd); err != nil {
		return 0, fmt.Errorf("master: conversion of %s/%s: %w", j.Bucket, j.Key, err)
	}
	c.cfg.Written(written)
	return o.Size, nil
}

// version reads the version a job names, extents included.
func (c *Converter) version(j Job) (*proto.Object, error) {
	if j.VersionID != "" {
		return c.fsm.ObjectVersion(j.Bucket, j.Key, j.VersionID)
	}
	return c.fsm.Object(j.Bucket, j.Key)
}

// rewrite writes every extent of o (replicated chunks) again as a stripe
// of p, and returns the new extents and where their shards went.
func (c *Converter) rewrite(ctx context.Context, o *proto.Object, p proto.DataPolicy) ([]proto.Extent, []proto.ChunkTargets, error) {
	loc, err := c.cfg.Locate(o)
	if err != nil {
		return nil, nil, err
	}
	holders := map[proto.ChunkID][]proto.Target{}
	for _, ct := range loc.Locations {
		holders[ct.ID] = ct.Targets
	}
	w := stripe.Writer{
		Allocate: func(ctx context.Context, req proto.AllocateRequest) ([]proto.ChunkTargets, error) {
			res, err := c.cfg.Allocate(ctx, req)
			return res.Chunks, err
		},
		WriteShard: func(ctx context.Context, ct proto.ChunkTargets, body io.Reader, n int64) error {
			_, err := c.cfg.Chunks.Put(ctx, ct.Targets, ct.ID, body, n)
			return err
		},
		MaxAttempts: convertAttempts,
		Log:         c.log,
	}
	shape := proto.StripeShape{K: p.K, M: p.M}
	var out []proto.Extent
	var written []proto.ChunkTargets
	for _, e := range o.Extents {
		if e.Stripe != nil {
			return nil, nil, fmt.Errorf("master: conversion of %s/%s: extent at %d is a stripe of rs-%d-%d (granary admin convert rewrites stripes): %w",
				o.Bucket, o.Key, e.Offset, e.Stripe.K, e.Stripe.M, meta.ErrInvalid)
		}
		src := &chunkSource{c: c, ctx: ctx, chunk: e.Chunk, off: e.ChunkOffset, n: e.Length, from: holders[e.Chunk]}
		st, wr, err := w.Write(ctx, src.open, e.Length, shape)
		src.close()
		if err != nil {
			return nil, nil, fmt.Errorf("master: conversion of %s/%s, chunk %d: %w", o.Bucket, o.Key, e.Chunk, err)
		}
		out = append(out, proto.Extent{Chunk: st.Shards[0], Offset: e.Offset, Length: e.Length, Stripe: st})
		written = append(written, wr...)
		// The stripes written so far are orphans until the swap: renew
		// them, so a large object converted at a low rate keeps them
		// past the orphan grace.
		ids := make([]proto.ChunkID, len(written))
		for i, ct := range written {
			ids[i] = ct.ID
		}
		c.cfg.Renew(ids)
	}
	return out, written, nil
}

// chunkSource reads a range of a replicated chunk for the stripe writer,
// from the first of its replicas that answers (each attempt starts at the
// next one), paced by
// the converter's bandwidth and verified: a short body or a trailer that
// is not "ok" fails the read, so a shard never holds unverified bytes.
type chunkSource struct {
	c       *Converter
	ctx     context.Context
	chunk   proto.ChunkID
	off, n  int64
	from    []proto.Target
	attempt int
	body    io.Closer
}

func (s *chunkSource) open() (io.Reader, error) {
	s.close()
	if len(s.from) == 0 {
		return nil, fmt.Errorf("master: chunk %d has no readable replica", s.chunk)
	}
	var errs []error
	for range s.from { // the next replica that answers
		t := s.from[s.attempt%len(s.from)]
		s.attempt++
		r, err := s.c.cfg.Chunks.Get(s.ctx, t.Address, s.chunk, s.off, s.n)
		if err != nil {
			errs = append(errs, fmt.Errorf("master: read chunk %d from %s: %w", s.chunk, t.ID, err))
			continue
		}
		s.body = r
		return &verifiedReader{r: r, verify: r.Verify, left: s.n, ctx: s.ctx, pace: s.c.pace}, nil
	}
	return nil, errors.Join(errs...)
}

func (s *chunkSource) close() {
	if s.body != nil {
		s.body.Close()
		s.body = nil
	}
}

// verifiedReader passes left bytes of r through the pacer and, at their
// end, checks the chunk server's trailer.
type verifiedReader struct {
	r      io.Reader
	verify func() error
	left   int64
	ctx    context.Context
	pace   *pacer
}

func (v *verifiedReader) Read(p []byte) (int, error) {
	if v.left <= 0 {
		// Read the body to its end: the status trailer comes after it.
		if extra, err := io.Copy(io.Discard, io.LimitReader(v.r, 1)); err != nil || extra > 0 {
			return 0, fmt.Errorf("master: chunk read: more bytes than asked for (%w)", err)
		}
		if err := v.verify(); err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > v.left {
		p = p[:v.left]
	}
	if err := v.pace.wait(v.ctx, len(p)); err != nil {
		return 0, err
	}
	n, err := v.r.Read(p)
	v.left -= int64(n)
	if errors.Is(err, io.EOF) {
		if v.left > 0 {
			return n, fmt.Errorf("master: chunk read ended %d bytes short: %w", v.left, io.ErrUnexpectedEOF)
		}
		err = nil
	}
	return n, err
}

// pacer is a token bucket of rate bytes per second shared by all of the
// converter's reads, with a burst of a tenth of a second; 0 is no bound.
// It runs on the real clock: it bounds real bandwidth.
type pacer struct {
	rate int64
	mu   sync.Mutex
	next time.Time // when the bytes reserved so far may all have gone
}

func (p *pacer) wait(ctx context.Context, n int) error {
	if p.rate <= 0 || n <= 0 {
		return ctx.Err()
	}
	p.mu.Lock()
	now := time.Now()
	if floor := now.Add(-100 * time.Millisecond); p.next.Before(floor) {
		p.next = floor
	}
	p.next = p.next.Add(time.Duration(float64(n) / float64(p.rate) * float64(time.Second)))
	at := p.next
	p.mu.Unlock()
	d := time.Until(at)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// convRate is the bytes converted over the last minute, by second.
type convRate struct {
	at    []time.Time
	bytes []int64
}

const convRateSpan = time.Minute

func (r *convRate) add(now time.Time, n int64) {
	r.trim(now)
	r.at, r.bytes = append(r.at, now), append(r.bytes, n)
}

func (r *convRate) trim(now time.Time) {
	i := 0
	for i < len(r.at) && now.Sub(r.at[i]) > convRateSpan {
		i++
	}
	r.at, r.bytes = r.at[i:], r.bytes[i:]
}

// perSecond is the rate over the window: the bytes of the objects
// finished in the last minute over the time since the first of them
// (at least a second), 0 when none.
func (r *convRate) perSecond(now time.Time) int64 {
	r.trim(now)
	if len(r.at) == 0 {
		return 0
	}
	var sum int64
	for _, b := range r.bytes {
		sum += b
	}
	span := max(now.Sub(r.at[0]), time.Second)
	if len(r.at) > 1 {
		span = max(r.at[len(r.at)-1].Sub(r.at[0]), time.Second)
		sum -= r.bytes[0] // the first object's bytes went before the span began
	}
	return int64(float64(sum) / span.Seconds())
}
