// Package lifecycle is the leader's lifecycle worker (Worker): it applies
// the buckets' S3 lifecycle expirations through ordinary Raft commands and
// hands due transitions to the converter. The master wires it.
package lifecycle

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

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/convert"
	"github.com/granary-store/granary/master/meta"
)

// Worker is the leader's lifecycle worker: it walks the buckets that
// have lifecycle rules, one page of versions (or of multipart uploads) a
// step, and applies the expirations that are due through ordinary Raft
// commands. Every removal is conditional on the version it evaluated
// (meta.DeleteObject.IfVersion), so an object overwritten after the
// worker looked is never expired, and a removal already applied (by this
// leader or an earlier one) is never applied again. Locked versions are
// never removed (the state machine refuses them too). Its cursor and
// counters are soft state, reset when this member becomes leader: a new
// leader starts a pass from the first bucket.
//
// Step runs one at a time (run) and owns the cursor; mu guards the
// counters for readers; gen counts leadership terms (reset), so a step
// learns of a new term without reset waiting for a step in flight.
type Worker struct {
	cfg  Config
	log  *slog.Logger
	fsm  *meta.FSM
	page int

	gen atomic.Uint64

	run  sync.Mutex
	cur  lcCursor
	seen uint64 // the gen cur belongs to

	mu    sync.Mutex
	stats proto.LifecycleStats
}

// Converter carries out transitions (the master's convert.Converter).
type Converter interface {
	// Enqueue queues a transition; false when the queue is full.
	Enqueue(j convert.Job) bool
	// Classes maps storage classes to data policies.
	Classes() map[string]string
}

// Config is what a Worker needs of the master around it.
type Config struct {
	Logger *slog.Logger
	Now    func() time.Time // the clock expirations are due by
	State  *meta.FSM
	// Apply proposes a command through Raft and waits for its result.
	Apply func(ctx context.Context, o meta.Op, payload any) (any, error)
	// Leader reports whether this member is the ready leader; NotLeader
	// is the sentinel Apply's errors wrap off the leader (Step wraps it
	// too).
	Leader       func() bool
	NotLeader    error
	Converter    Converter     // carries out transitions (nil: none)
	Interval     time.Duration // between steps
	Page         int           // versions or uploads a step evaluates
	ApplyTimeout time.Duration // bound of one step's Raft commands
}

// New returns a worker; the master runs Run and calls Reset when it
// becomes leader.
func New(cfg Config) *Worker {
	return &Worker{cfg: cfg, log: cfg.Logger, fsm: cfg.State, page: cfg.Page}
}

// lcCursor is where a pass stands: a bucket, its versions or its uploads,
// and the key being scanned (its versions come newest first, so the time
// a version became noncurrent is the modification time of the one before).
type lcCursor struct {
	bucket        string // the bucket being scanned; a finished one is followed by "\x00"
	uploads       bool   // its versions are done, its uploads next
	keyMarker     string
	versionMarker string
	uploadMarker  string
	key           string    // the key of the last version seen
	newer         time.Time // the modification time of that version
	noncurrent    int       // noncurrent versions of key seen so far
}

// Reset forgets the counters and makes the next step start a fresh pass;
// the master calls it when this member becomes leader.
func (l *Worker) Reset() {
	l.gen.Add(1)
	l.mu.Lock()
	l.stats = proto.LifecycleStats{}
	l.mu.Unlock()
}

// Progress returns the counters since this member became leader.
func (l *Worker) Progress() proto.LifecycleStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

func (l *Worker) count(f func(*proto.LifecycleStats)) {
	l.mu.Lock()
	f(&l.stats)
	l.mu.Unlock()
}

// Run runs a step every Config.Interval while this member leads, until
// done is closed. The master runs it in one goroutine it owns.
func (l *Worker) Run(done <-chan struct{}) {
	tick := time.NewTicker(l.cfg.Interval)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		if !l.cfg.Leader() {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.cfg.ApplyTimeout)
		if err := l.Step(ctx); err != nil && !errors.Is(err, l.cfg.NotLeader) {
			l.log.Warn("lifecycle step", "err", err)
		}
		cancel()
	}
}

// Step evaluates one page (Server.LifecycleOnce). A step that fails is
// tried again from the same place by the next one. Off the leader it
// fails with an error that wraps Config.NotLeader.
func (l *Worker) Step(ctx context.Context) error {
	l.run.Lock()
	defer l.run.Unlock()
	if !l.cfg.Leader() {
		return fmt.Errorf("master: lifecycle: %w", l.cfg.NotLeader)
	}
	if g := l.gen.Load(); g != l.seen {
		l.cur, l.seen = lcCursor{}, g
	}
	now := l.cfg.Now().UTC()
	b, err := l.nextBucket(now)
	if err != nil || b == nil {
		return err
	}
	if l.cur.uploads {
		return l.uploadsPage(ctx, b, now)
	}
	return l.versionsPage(ctx, b, now)
}

// nextBucket finds the bucket the cursor is on or the next one with
// enabled rules; at the end of the buckets a pass is over.
func (l *Worker) nextBucket(now time.Time) (*proto.Bucket, error) {
	buckets, err := l.fsm.Buckets()
	if err != nil {
		return nil, fmt.Errorf("master: lifecycle: %w", err)
	}
	slices.SortFunc(buckets, func(a, b proto.Bucket) int { return strings.Compare(a.Name, b.Name) })
	for i := range buckets {
		b := &buckets[i]
		if b.Name < l.cur.bucket || len(enabledRules(b)) == 0 {
			continue
		}
		if b.Name != l.cur.bucket {
			l.cur = lcCursor{bucket: b.Name}
		}
		return b, nil
	}
	if l.cur.bucket != "" {
		l.count(func(s *proto.LifecycleStats) { s.Passes++; s.LastPass = now.Format(time.RFC3339) })
		l.log.Debug("lifecycle pass done")
	}
	l.cur = lcCursor{}
	return nil, nil
}

func enabledRules(b *proto.Bucket) []*proto.LifecycleRule {
	var out []*proto.LifecycleRule
	for i := range b.Lifecycle {
		if b.Lifecycle[i].Status == proto.LifecycleEnabled {
			out = append(out, &b.Lifecycle[i])
		}
	}
	return out
}

// versionsPage evaluates one page of the bucket's versions.
func (l *Worker) versionsPage(ctx context.Context, b *proto.Bucket, now time.Time) error {
	res, err := l.fsm.ListVersions(proto.VersionsRequest{Bucket: b.Name, KeyMarker: l.cur.keyMarker,
		VersionIDMarker: l.cur.versionMarker, MaxKeys: l.page})
	if errors.Is(err, meta.ErrNoSuchBucket) {
		l.cur = lcCursor{bucket: b.Name + "\x00"}
		return nil
	}
	if err != nil {
		return fmt.Errorf("master: lifecycle: list %s: %w", b.Name, err)
	}
	saved := l.cur
	rules := enabledRules(b)
	for i := range res.Versions {
		if err := l.version(ctx, b.Name, rules, &res.Versions[i], now); err != nil {
			l.cur = saved
			return err
		}
	}
	if res.IsTruncated {
		l.cur.keyMarker, l.cur.versionMarker = res.NextKeyMarker, res.NextVersionIDMarker
	} else {
		l.cur.uploads = true
	}
	return nil
}

// version evaluates one version against the rules.
func (l *Worker) version(ctx context.Context, bucket string, rules []*proto.LifecycleRule, v *proto.ObjectVersion, now time.Time) error {
	l.count(func(s *proto.LifecycleStats) { s.Scanned++ })
	c := &l.cur
	if v.Key != c.key {
		c.key, c.newer, c.noncurrent = v.Key, time.Time{}, 0
	}
	became := c.newer
	c.newer = v.Modified
	switch {
	case v.IsLatest && v.DeleteMarker:
		return l.latestMarker(ctx, bucket, rules, &v.Object, now)
	case v.IsLatest:
		return l.current(ctx, bucket, rules, &v.Object, now)
	}
	c.noncurrent++
	return l.noncurrentVersion(ctx, bucket, rules, &v.Object, became, c.noncurrent, now)
}

// current expires a current version whose Expiration is due: removed in
// a bucket never versioned, hidden behind a delete marker in a versioned
// one.
func (l *Worker) current(ctx context.Context, bucket string, rules []*proto.LifecycleRule, v *proto.Object, now time.Time) error {
	for _, r := range rules {
		e := r.Expiration
		if e == nil || !r.Matches(v.Key, v.Size, v.Tagging) || !expirationDue(e, v.Modified, now) {
			continue
		}
		at := now
		return l.remove(ctx, meta.DeleteObject{Bucket: bucket, Key: v.Key, IfVersion: v.Version, At: &at},
			func(s *proto.LifecycleStats) { s.Expired++ })
	}
	class := ""
	for _, r := range rules {
		if !r.Matches(v.Key, v.Size, v.Tagging) {
			continue
		}
		for _, t := range r.Transitions {
			if transitionDue(&t, v.Modified, now) {
				class = t.StorageClass // the last due one wins
			}
		}
	}
	l.transition(bucket, v, "", class)
	return nil
}

// transitionDue reports whether a Transition by Days or Date is due for
// a version made at made.
func transitionDue(t *proto.LifecycleTransition, made, now time.Time) bool {
	if t.Days != nil {
		return !now.Before(expiry(made, *t.Days))
	}
	d, err := proto.LifecycleDate(t.Date)
	return err == nil && !now.Before(d)
}

// transition hands a version whose transition to class is due to the
// converter, unless it reports that class already. A class no longer
// mapped to a policy (the operator changed --storage-class) is skipped.
func (l *Worker) transition(bucket string, v *proto.Object, versionID, class string) {
	if class == "" || class == storageClassOf(v) || l.cfg.Converter == nil {
		return
	}
	p, err := proto.ParseDataPolicy(l.cfg.Converter.Classes()[class])
	if err != nil {
		l.count(func(s *proto.LifecycleStats) { s.Skipped++ })
		return
	}
	if l.cfg.Converter.Enqueue(convert.Job{Bucket: bucket, Key: v.Key, VersionID: versionID, Version: v.Version, Policy: p, Class: class}) {
		l.count(func(s *proto.LifecycleStats) { s.TransitionsQueued++ })
	}
}

// storageClassOf is a version's storage class as S3 reports it.
func storageClassOf(v *proto.Object) string {
	if v.StorageClass == "" {
		return "STANDARD"
	}
	return v.StorageClass
}

// expirationDue reports whether an Expiration by Days or Date is due for
// a version made at made.
func expirationDue(e *proto.LifecycleExpiration, made, now time.Time) bool {
	if e.Days != nil {
		return !now.Before(expiry(made, *e.Days))
	}
	if e.Date != "" {
		d, err := proto.LifecycleDate(e.Date)
		return err == nil && !now.Before(d)
	}
	return false
}

// expiry is S3's due time: days after t, rounded up to the next midnight
// UTC.
func expiry(t time.Time, days int) time.Time {
	e := t.UTC().AddDate(0, 0, days)
	if d := e.Truncate(24 * time.Hour); !d.Equal(e) {
		return d.Add(24 * time.Hour)
	}
	return e
}

// latestMarker removes an expired object delete marker: the newest
// version is a delete marker and no other version is left. A rule with
// ExpiredObjectDeleteMarker removes it at once; one with Expiration Days
// once the marker is that old.
func (l *Worker) latestMarker(ctx context.Context, bucket string, rules []*proto.LifecycleRule, v *proto.Object, now time.Time) error {
	for _, r := range rules {
		e := r.Expiration
		if e == nil || !r.Matches(v.Key, 0, "") {
			continue
		}
		if !(e.ExpiredObjectDeleteMarker != nil && *e.ExpiredObjectDeleteMarker) && !(e.Days != nil && expirationDue(e, v.Modified, now)) {
			continue
		}
		only, err := l.onlyVersion(bucket, v.Key)
		if err != nil || !only {
			return err
		}
		at := now
		return l.remove(ctx, meta.DeleteObject{Bucket: bucket, Key: v.Key, VersionID: v.VersionName(), IfVersion: v.Version, At: &at},
			func(s *proto.LifecycleStats) { s.MarkersRemoved++ })
	}
	return nil
}

// onlyVersion reports whether key has exactly one version.
func (l *Worker) onlyVersion(bucket, key string) (bool, error) {
	res, err := l.fsm.ListVersions(proto.VersionsRequest{Bucket: bucket, Prefix: key, MaxKeys: 2})
	if err != nil {
		return false, fmt.Errorf("master: lifecycle: versions of %s/%s: %w", bucket, key, err)
	}
	n := 0
	for _, v := range res.Versions {
		if v.Key == key {
			n++
		}
	}
	return n == 1, nil
}

// noncurrentVersion removes a noncurrent version (the n-th newest of its
// key's noncurrent ones, noncurrent since became) whose
// NoncurrentVersionExpiration is due, unless it is locked.
func (l *Worker) noncurrentVersion(ctx context.Context, bucket string, rules []*proto.LifecycleRule, v *proto.Object, became time.Time, n int, now time.Time) error {
	for _, r := range rules {
		ne := r.NoncurrentVersionExpiration
		if ne == nil || ne.NoncurrentDays == nil || !r.Matches(v.Key, v.Size, v.Tagging) || became.IsZero() {
			continue
		}
		if ne.NewerNoncurrentVersions != nil && n <= *ne.NewerNoncurrentVersions || now.Before(expiry(became, *ne.NoncurrentDays)) {
			continue
		}
		if v.LockedAt(now, false) {
			l.count(func(s *proto.LifecycleStats) { s.Skipped++ })
			return nil
		}
		at := now
		return l.remove(ctx, meta.DeleteObject{Bucket: bucket, Key: v.Key, VersionID: v.VersionName(), IfVersion: v.Version, At: &at},
			func(s *proto.LifecycleStats) { s.NoncurrentExpired++ })
	}
	if became.IsZero() || v.DeleteMarker {
		return nil
	}
	class := ""
	for _, r := range rules {
		if !r.Matches(v.Key, v.Size, v.Tagging) {
			continue
		}
		for _, t := range r.NoncurrentVersionTransitions {
			if t.NoncurrentDays != nil && (t.NewerNoncurrentVersions == nil || n > *t.NewerNoncurrentVersions) &&
				!now.Before(expiry(became, *t.NoncurrentDays)) {
				class = t.StorageClass
			}
		}
	}
	l.transition(bucket, v, v.VersionName(), class)
	return nil
}

// remove applies one conditional delete. One the state refuses because
// the version changed, is gone or is locked is skipped, not retried.
func (l *Worker) remove(ctx context.Context, cmd meta.DeleteObject, done func(*proto.LifecycleStats)) error {
	_, err := l.cfg.Apply(ctx, meta.OpDeleteObject, cmd)
	switch {
	case err == nil:
		l.count(done)
		l.log.Debug("lifecycle expired", "bucket", cmd.Bucket, "key", cmd.Key, "version", cmd.VersionID)
		return nil
	case errors.Is(err, meta.ErrPrecondition), errors.Is(err, meta.ErrNoSuchKey),
		errors.Is(err, meta.ErrLocked), errors.Is(err, meta.ErrNoSuchBucket):
		l.count(func(s *proto.LifecycleStats) { s.Skipped++ })
		return nil
	}
	return fmt.Errorf("master: lifecycle: expire %s/%s: %w", cmd.Bucket, cmd.Key, err)
}

// uploadsPage evaluates one page of the bucket's multipart uploads
// against AbortIncompleteMultipartUpload; the last page ends the bucket.
func (l *Worker) uploadsPage(ctx context.Context, b *proto.Bucket, now time.Time) error {
	ups, err := l.fsm.UploadsAfter(b.Name, l.cur.uploadMarker, l.page)
	if err != nil {
		return fmt.Errorf("master: lifecycle: uploads of %s: %w", b.Name, err)
	}
	rules := enabledRules(b)
	for _, u := range ups {
		l.count(func(s *proto.LifecycleStats) { s.Scanned++ })
		if err := l.upload(ctx, rules, u, now); err != nil {
			return err
		}
		l.cur.uploadMarker = u.ID
	}
	if len(ups) < l.page {
		l.cur = lcCursor{bucket: b.Name + "\x00"}
	}
	return nil
}

// upload aborts an upload whose AbortIncompleteMultipartUpload is due.
// Rules that filter by size never match an upload (it has none yet).
func (l *Worker) upload(ctx context.Context, rules []*proto.LifecycleRule, u proto.Upload, now time.Time) error {
	for _, r := range rules {
		a := r.AbortIncompleteMultipartUpload
		if a == nil || a.DaysAfterInitiation == nil || r.HasSizeFilter() || r.HasTagFilter() ||
			!strings.HasPrefix(u.Key, r.KeyPrefix()) || now.Before(expiry(u.Created, *a.DaysAfterInitiation)) {
			continue
		}
		_, err := l.cfg.Apply(ctx, meta.OpAbortUpload, meta.AbortUpload{Ref: proto.UploadRef{Bucket: u.Bucket, UploadID: u.ID}})
		switch {
		case err == nil:
			l.count(func(s *proto.LifecycleStats) { s.UploadsAborted++ })
		case errors.Is(err, meta.ErrNoSuchUpload), errors.Is(err, meta.ErrNoSuchBucket):
			l.count(func(s *proto.LifecycleStats) { s.Skipped++ })
		default:
			return fmt.Errorf("master: lifecycle: abort upload %s of %s/%s: %w", u.ID, u.Bucket, u.Key, err)
		}
		return nil
	}
	return nil
}
