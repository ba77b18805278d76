// Package usage is the leader's count of each bucket's objects and bytes
// (Counter), which the master's buckets API attaches to the records. The
// master wires it.
package usage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
)

// Defaults of the bucket counter when the config leaves them zero.
const (
	defaultBucketCountInterval = 30 * time.Second
	defaultBucketCountRate     = 20000
	paceStep                   = 20 * time.Millisecond
)

// Counter is the leader's count of each bucket's objects and bytes
// (proto.BucketUsage): a background pass walks every bucket's current
// objects and noncurrent versions through the state's listings, at most
// rate entries a second (an empty bucket counts as one), then rests for
// every before the next pass. The
// counts are soft state, served with the time they were taken: the
// buckets API adds them to the records, nothing is proposed or stored, so
// the Raft log does not change. A member that does not lead keeps none.
// Safe for concurrent use; Run is its only goroutine, owned by the
// master and stopped by its done channel.
type Counter struct {
	log     *slog.Logger
	now     func() time.Time
	fsm     *meta.FSM
	leader  func() bool
	copies  int // the cluster's replication
	every   time.Duration
	rate    int
	passing sync.Mutex // one pass at a time (the loop, or a test's CountBucketsOnce)
	owed    int        // entries read since the pass last slept (under passing)

	mu     sync.Mutex
	counts map[string]proto.BucketUsage // by bucket name
}

// Config is what a Counter needs of the master around it.
type Config struct {
	Logger      *slog.Logger
	Now         func() time.Time
	State       *meta.FSM
	Leader      func() bool   // this member is the ready leader
	Interval    time.Duration // between passes (0: 30 s)
	Rate        int           // entries read a second (0: 20,000)
	Replication int           // the cluster's copies of a replicated chunk
}

// New returns a counter; the master runs Run.
func New(cfg Config) *Counter {
	c := &Counter{log: cfg.Logger, now: cfg.Now, fsm: cfg.State, leader: cfg.Leader,
		copies: cfg.Replication, every: cfg.Interval, rate: cfg.Rate, counts: map[string]proto.BucketUsage{}}
	if c.every <= 0 {
		c.every = defaultBucketCountInterval
	}
	if c.rate <= 0 {
		c.rate = defaultBucketCountRate
	}
	return c
}

// Run runs a pass soon after this member leads, then one every interval,
// until done closes.
func (c *Counter) Run(done <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-done; cancel() }()
	wait := min(c.every, time.Second)
	for {
		select {
		case <-done:
			return
		case <-time.After(wait):
		}
		if !c.leader() {
			c.reset()
			wait = min(c.every, time.Second)
			continue
		}
		start := c.now()
		if err := c.Pass(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("bucket count pass failed", "err", err)
		} else if err == nil {
			c.log.Debug("bucket count pass done", "took", c.now().Sub(start))
		}
		wait = c.every
	}
}

func (c *Counter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.counts) > 0 {
		c.counts = map[string]proto.BucketUsage{}
	}
}

// Pass counts every bucket once, in name order, and forgets the counts of
// buckets that are gone. It stops early when this member stops leading.
func (c *Counter) Pass(ctx context.Context) error {
	c.passing.Lock()
	defer c.passing.Unlock()
	buckets, err := c.fsm.Buckets()
	if err != nil {
		return fmt.Errorf("bucket count: list buckets: %w", err)
	}
	live := make(map[string]bool, len(buckets))
	for _, b := range buckets {
		if !c.leader() {
			c.reset()
			return nil
		}
		live[b.Name] = true
		u, err := c.count(ctx, &b)
		switch {
		case errors.Is(err, meta.ErrNoSuchBucket):
			delete(live, b.Name)
			continue
		case err != nil:
			return err
		}
		c.mu.Lock()
		c.counts[b.Name] = u
		c.mu.Unlock()
	}
	c.mu.Lock()
	for name := range c.counts {
		if !live[name] {
			delete(c.counts, name)
		}
	}
	c.mu.Unlock()
	return nil
}

// count walks one bucket's current objects (their records carry their
// extents), then, in a bucket that has been versioned, its noncurrent
// versions (each read for its extents), pacing itself.
func (c *Counter) count(ctx context.Context, b *proto.Bucket) (proto.BucketUsage, error) {
	var u proto.BucketUsage
	copies := b.Replication // of replicated chunks, whatever the bucket's policy
	if copies <= 0 {
		copies = c.copies
	}
	add := func(o *proto.Object) {
		u.Versions++
		u.LogicalBytes += o.Size
		u.StoredBytes += storedBytes(o, copies)
	}
	req := proto.ListRequest{Bucket: b.Name, MaxKeys: proto.MaxListKeys}
	for {
		page, err := c.fsm.List(req)
		if err != nil {
			return u, fmt.Errorf("bucket count: %s: %w", b.Name, err)
		}
		for i := range page.Objects {
			u.Objects++
			add(&page.Objects[i])
		}
		if err := c.pace(ctx, max(len(page.Objects), 1)); err != nil {
			return u, err
		}
		if !page.IsTruncated {
			break
		}
		req.StartAfter = page.NextStartAfter
	}
	if b.Versioning != "" {
		if err := c.countNoncurrent(ctx, b.Name, add); err != nil {
			return u, err
		}
	}
	u.CountedAt = c.now().UTC()
	return u, nil
}

// countNoncurrent passes each noncurrent version of a bucket (delete
// markers left out) to add, with its extents.
func (c *Counter) countNoncurrent(ctx context.Context, bucket string, add func(*proto.Object)) error {
	req := proto.VersionsRequest{Bucket: bucket, MaxKeys: proto.MaxListKeys}
	for {
		page, err := c.fsm.ListVersions(req)
		if err != nil {
			return fmt.Errorf("bucket count: %s versions: %w", bucket, err)
		}
		n := 1
		for _, v := range page.Versions {
			if v.DeleteMarker || v.IsLatest { // markers hold no data; the current ones are counted
				continue
			}
			o, err := c.fsm.ObjectVersion(bucket, v.Key, v.VersionID)
			switch {
			case errors.Is(err, meta.ErrNoSuchKey) || errors.Is(err, meta.ErrNoSuchVersion):
				continue // removed since the page was read
			case err != nil:
				return fmt.Errorf("bucket count: %s/%s version %s: %w", bucket, v.Key, v.VersionID, err)
			}
			add(o)
			n++
		}
		if err := c.pace(ctx, max(len(page.Versions), n)); err != nil {
			return err
		}
		if !page.IsTruncated {
			return nil
		}
		req.KeyMarker, req.VersionIDMarker = page.NextKeyMarker, page.NextVersionIDMarker
	}
}

// pace keeps a pass at the counter's rate: n more entries were read. It
// sleeps once the entries read since its last sleep are worth paceStep
// (shorter sleeps would overshoot: timers are coarse). Called with
// passing held.
func (c *Counter) pace(ctx context.Context, n int) error {
	c.owed += n
	d := time.Duration(c.owed) * time.Second / time.Duration(c.rate)
	if d < paceStep {
		return ctx.Err()
	}
	c.owed = 0
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// storedBytes is what a version takes under its layout: a replicated
// extent's bytes times copies, a stripe's data bytes times (K+M)/K, and
// inline data (no extent) once, in the metadata.
func storedBytes(o *proto.Object, copies int) int64 {
	if len(o.Extents) == 0 {
		return o.Size
	}
	var n int64
	for _, e := range o.Extents {
		if s := e.Stripe; s != nil && s.K > 0 {
			n += (e.Length*int64(s.K+s.M) + int64(s.K) - 1) / int64(s.K)
			continue
		}
		n += e.Length * int64(copies)
	}
	return n
}

// Attach sets the Usage of each bucket that has been counted.
func (c *Counter) Attach(bs []proto.Bucket) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range bs {
		if u, ok := c.counts[bs[i].Name]; ok {
			bs[i].Usage = &u
		}
	}
}
