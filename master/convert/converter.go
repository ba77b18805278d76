// Package convert is the leader's background conversion: it rewrites
// cold replicated objects as erasure-coded stripes and carries out
// lifecycle transitions (Converter). The master wires it: it proposes
// through the master's Raft member, reads the master's state, and
// allocates and locates chunks through the master's allocator.
package convert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/granary-store/granary/internal/chunkclient"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
)

// Converter is the leader's background conversion: it rewrites cold
// replicated objects as erasure-coded stripes, and carries out lifecycle
// transitions. The leader does the I/O itself: it reads each replicated
// chunk from one of its replicas (verified block by block by the chunk
// server, trailer checked), encodes it with internal/stripe (the client
// library's stripe writer: K+M single-copy shard writes at once, a failed
// shard written again on a fresh server), and swaps the object's extents
// in one OpReplaceExtents, a compare-and-set on the version it read. An
// object overwritten or deleted meanwhile keeps the new write; the
// conversion's shards are then orphans, and the old replicas of a
// converted object go to the deletion queue: the normal GC collects both.
//
// Work comes from two places: queued lifecycle transitions (enqueue),
// done first, and a pass over the buckets that have a conversion target
// (ConvertRule, or the cluster's ConvertAfter), one object per step in
// key order. The reads are paced by one token bucket (ConvertBandwidth).
// Its cursor, queue and counters are soft state, reset when this member
// becomes leader; a new leader starts a fresh pass, and since a converted
// object is stored under its target already, nothing is converted twice
// (but the one object in flight at a leader change, whose shards become
// orphans).
//
// Step runs one at a time (run) and owns the cursor; mu guards the queue
// and the counters.
type Converter struct {
	cfg  Config
	log  *slog.Logger
	fsm  *meta.FSM
	pace *pacer
	page int

	gen  atomic.Uint64
	run  sync.Mutex
	cur  convCursor
	seen uint64

	kick chan struct{} // wakes an idle loop when a transition is queued

	mu     sync.Mutex
	queue  []Job
	queued map[string]bool
	stats  proto.ConversionStats
	rate   convRate
}

// convCursor is where a pass stands: a bucket and the last key looked at.
type convCursor struct {
	bucket, after string
	started       bool // the pass surveyed what is pending
}

// Job is one version to lay out under Policy, and, for a lifecycle
// transition, the storage class it then reports.
type Job struct {
	Bucket, Key, VersionID string
	Version                uint64 // the version evaluated (0: whichever is current)
	Policy                 proto.DataPolicy
	Class                  string
}

func (j Job) id() string { return j.Bucket + "/" + j.Key + "\x00" + j.VersionID }

// maxQueued bounds the queued transitions; more wait for a later
// lifecycle pass.
const maxQueued = 10000

// Reset forgets the queue and the counters, and makes the next step start
// a fresh pass; the master calls it when this member becomes leader.
func (c *Converter) Reset() {
	c.gen.Add(1)
	c.mu.Lock()
	c.stats, c.queue, c.queued, c.rate = proto.ConversionStats{}, nil, nil, convRate{}
	c.mu.Unlock()
}

// Progress returns the counters since this member became leader, with
// rate and ETA.
func (c *Converter) Progress() proto.ConversionStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	st.BandwidthBytesPerSecond = c.pace.rate
	st.BytesPerSecond = c.rate.perSecond(time.Now())
	switch {
	case st.PendingBytes == 0:
		st.ETASeconds = 0
	case st.BytesPerSecond == 0:
		st.ETASeconds = -1
	default:
		st.ETASeconds = (st.PendingBytes + st.BytesPerSecond - 1) / st.BytesPerSecond
	}
	return st
}

func (c *Converter) count(f func(*proto.ConversionStats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// Enqueue hands a lifecycle transition to the converter; it reports false
// when the queue is full (a later lifecycle pass finds the version again).
func (c *Converter) Enqueue(j Job) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.queued[j.id()] {
		return true
	}
	if len(c.queue) >= maxQueued {
		return false
	}
	if c.queued == nil {
		c.queued = map[string]bool{}
	}
	c.queued[j.id()] = true
	c.queue = append(c.queue, j)
	c.stats.Enabled = true
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return true
}

func (c *Converter) dequeue() (Job, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		return Job{}, false
	}
	j := c.queue[0]
	c.queue = c.queue[1:]
	delete(c.queued, j.id())
	return j, true
}

// Run runs steps while this member leads, back to back while there is
// work and every Config.Interval otherwise, until done is closed. A step
// stops as soon as done closes or leadership is lost. The master runs it
// in one goroutine it owns.
func (c *Converter) Run(done <-chan struct{}) {
	tick := time.NewTicker(c.cfg.Interval)
	defer tick.Stop()
	for {
		worked := false
		if c.cfg.Leader() {
			ctx, cancel := c.StepContext(context.Background(), done)
			var err error
			worked, err = c.Step(ctx)
			if err != nil && !errors.Is(err, c.cfg.NotLeader) && ctx.Err() == nil {
				c.log.Warn("conversion step", "err", err)
			}
			cancel()
		}
		if worked {
			select {
			case <-done:
				return
			default:
			}
			continue
		}
		select {
		case <-done:
			return
		case <-tick.C:
		case <-c.kick:
		}
	}
}

// StepContext is canceled when parent ends, done closes or this member
// stops leading.
func (c *Converter) StepContext(parent context.Context, done <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-done:
				cancel()
				return
			case <-t.C:
				if !c.cfg.Leader() {
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}

// Step converts one object: a queued transition, else the next one the
// pass finds. It reports whether it found work. Off the leader it fails
// with an error that wraps Config.NotLeader.
func (c *Converter) Step(ctx context.Context) (bool, error) {
	c.run.Lock()
	defer c.run.Unlock()
	if !c.cfg.Leader() {
		return false, fmt.Errorf("master: conversion: %w", c.cfg.NotLeader)
	}
	if g := c.gen.Load(); g != c.seen {
		c.cur, c.seen = convCursor{}, g
	}
	if safe, _ := c.cfg.Safe(); safe {
		return false, nil // replica locations are not known yet
	}
	if j, ok := c.dequeue(); ok {
		return true, c.do(ctx, j, true)
	}
	now := c.cfg.Now().UTC()
	buckets, err := c.buckets()
	if err != nil {
		return false, err
	}
	if !c.cur.started {
		c.cur.started = true
		if c.survey(buckets, now) == 0 && len(buckets) > 0 {
			// Nothing is due: the pass is over without a second scan.
			c.count(func(s *proto.ConversionStats) { s.Passes++; s.LastPass = now.Format(time.RFC3339) })
			c.cur = convCursor{}
			return false, nil
		}
	}
	for _, b := range buckets {
		if b.Name < c.cur.bucket {
			continue
		}
		if b.Name != c.cur.bucket {
			c.cur = convCursor{bucket: b.Name, started: true}
		}
		p, age, _ := c.target(&b)
		j, found, err := c.next(&b, p, age, now)
		if err != nil {
			return false, err
		}
		if found {
			return true, c.do(ctx, j, false)
		}
		c.cur = convCursor{bucket: b.Name + "\x00", started: true}
	}
	if c.cur.bucket != "" {
		c.count(func(s *proto.ConversionStats) { s.Passes++; s.LastPass = now.Format(time.RFC3339) })
	}
	c.cur = convCursor{}
	return false, nil
}

// buckets returns the buckets with a conversion target, sorted by name.
func (c *Converter) buckets() ([]proto.Bucket, error) {
	all, err := c.fsm.Buckets()
	if err != nil {
		return nil, fmt.Errorf("master: conversion: %w", err)
	}
	out := all[:0]
	for _, b := range all {
		if _, _, ok := c.target(&b); ok {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b proto.Bucket) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// target is a bucket's conversion: its own rule, else the cluster's age
// with the cluster's conversion policy, or else the bucket's or the
// cluster's data policy when it is erasure-coded.
func (c *Converter) target(b *proto.Bucket) (proto.DataPolicy, time.Duration, bool) {
	if r := b.Convert; r != nil {
		p, err := proto.ParseDataPolicy(r.Policy)
		return p, time.Duration(r.AfterSeconds) * time.Second, err == nil && r.AfterSeconds > 0 && p.IsErasure()
	}
	if c.cfg.After <= 0 {
		return proto.DataPolicy{}, 0, false
	}
	for _, s := range []string{c.cfg.Policy, b.DataPolicy, c.cfg.DataPolicy} {
		if p, err := proto.ParseDataPolicy(s); err == nil && p.IsErasure() {
			return p, c.cfg.After, true
		}
	}
	return proto.DataPolicy{}, 0, false
}

// due reports whether o should be converted to p: old enough, stored in
// chunks, and not all of them stripes of p yet.
func due(o *proto.Object, p proto.DataPolicy, age time.Duration, now time.Time) bool {
	return !o.DeleteMarker && len(o.Extents) > 0 && !now.Before(o.Modified.Add(age)) && !p.Lays(o.Extents)
}

// next finds the next object of b after the cursor that is due.
func (c *Converter) next(b *proto.Bucket, p proto.DataPolicy, age time.Duration, now time.Time) (Job, bool, error) {
	for {
		res, err := c.fsm.List(proto.ListRequest{Bucket: b.Name, StartAfter: c.cur.after, MaxKeys: c.page})
		if errors.Is(err, meta.ErrNoSuchBucket) {
			return Job{}, false, nil
		}
		if err != nil {
			return Job{}, false, fmt.Errorf("master: conversion: list %s: %w", b.Name, err)
		}
		for i := range res.Objects {
			o := &res.Objects[i]
			c.cur.after = o.Key
			if due(o, p, age, now) {
				return Job{Bucket: b.Name, Key: o.Key, Version: o.Version, Policy: p}, true, nil
			}
		}
		if !res.IsTruncated {
			return Job{}, false, nil
		}
	}
}

// survey counts what the pass will convert, and returns the objects.
func (c *Converter) survey(buckets []proto.Bucket, now time.Time) int64 {
	var objects, bytes int64
	for _, b := range buckets {
		p, age, _ := c.target(&b)
		req := proto.ListRequest{Bucket: b.Name, MaxKeys: proto.MaxListKeys}
		for {
			res, err := c.fsm.List(req)
			if err != nil {
				break
			}
			for i := range res.Objects {
				if due(&res.Objects[i], p, age, now) {
					objects++
					bytes += res.Objects[i].Size
				}
			}
			if !res.IsTruncated {
				break
			}
			req.StartAfter = res.NextStartAfter
		}
	}
	c.count(func(s *proto.ConversionStats) {
		s.PendingObjects, s.PendingBytes = objects, bytes
		s.Enabled = s.Enabled || len(buckets) > 0
	})
	return objects
}

// do converts one version and counts the outcome; only errors that are
// not the object's own (leadership, shutdown) are returned.
func (c *Converter) do(ctx context.Context, j Job, transition bool) error {
	n, err := c.convert(ctx, j)
	c.count(func(s *proto.ConversionStats) {
		if !transition {
			s.PendingObjects = max(s.PendingObjects-1, 0)
			s.PendingBytes = max(s.PendingBytes-n, 0)
		}
	})
	switch {
	case errors.Is(err, errNothingToDo):
		return nil
	case err == nil:
		c.mu.Lock()
		c.stats.ConvertedObjects++
		c.stats.ConvertedBytes += n
		if transition {
			c.stats.Transitioned++
		}
		c.rate.add(time.Now(), n)
		c.mu.Unlock()
		c.log.Debug("converted", "bucket", j.Bucket, "key", j.Key, "version", j.VersionID, "policy", j.Policy.String(), "bytes", n)
		return nil
	case errors.Is(err, meta.ErrPrecondition), errors.Is(err, meta.ErrNoSuchKey), errors.Is(err, meta.ErrNoSuchVersion),
		errors.Is(err, meta.ErrNoSuchBucket):
		c.count(func(s *proto.ConversionStats) { s.Changed++ })
		return nil
	case ctx.Err() != nil, errors.Is(err, c.cfg.NotLeader):
		return err
	}
	c.count(func(s *proto.ConversionStats) { s.Failed++ })
	c.log.Warn("conversion failed; a later pass tries again", "bucket", j.Bucket, "key", j.Key, "err", err)
	return nil
}

// Config is what a Converter needs of the master around it: its state
// (read), its Raft member (propose, leadership), its allocator and
// replica map, and its settings.
type Config struct {
	Logger *slog.Logger
	Now    func() time.Time // the clock objects' ages are measured on
	State  *meta.FSM
	// Apply proposes a command through Raft and waits for its result.
	Apply func(ctx context.Context, o meta.Op, payload any) (any, error)
	// Leader reports whether this member is the ready leader; NotLeader
	// is the sentinel Apply's errors wrap off the leader (Step wraps it
	// too).
	Leader    func() bool
	NotLeader error
	Safe      func() (bool, string)     // the healer's safe mode: replica locations not known yet
	Renew     func(ids []proto.ChunkID) // keeps written shards from the orphan collection
	// Locate finds the replicas of an object's chunks, Allocate places new
	// shards, and Written records where shards went once swapped in.
	Locate   func(o *proto.Object) (proto.Located, error)
	Allocate func(ctx context.Context, req proto.AllocateRequest) (proto.AllocateResult, error)
	Written  func(cts []proto.ChunkTargets)
	// Chunks reads and writes chunks; each call is bounded by the step's
	// context.
	Chunks *chunkclient.Client

	Bandwidth    int64             // bytes per second of reads (0: no bound)
	After        time.Duration     // the cluster's age for conversion (0: off)
	Policy       string            // the cluster's conversion target ("": the bucket's or cluster's rs-K-M policy)
	DataPolicy   string            // the cluster's data policy
	Classes      map[string]string // storage class -> data policy
	Interval     time.Duration     // between idle steps
	ApplyTimeout time.Duration     // bound of one Raft command
}

// New returns a converter; the master runs Run and calls Reset when it
// becomes leader.
func New(cfg Config) *Converter {
	return &Converter{
		cfg: cfg, log: cfg.Logger, fsm: cfg.State, pace: &pacer{rate: cfg.Bandwidth},
		page: convertPage, kick: make(chan struct{}, 1),
	}
}

// Classes returns the storage classes the converter maps to policies.
func (c *Converter) Classes() map[string]string { return c.cfg.Classes }

// convertPage is how many records a pass reads at a time.
const convertPage = 1000
