package master_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// fakeClock is the masters' shared clock: the real one until a test sets
// it (clients' writes carry request ids dated by the real clock, which
// the leader refuses when its clock is far from it), then a fixed time
// the test moves by days.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		return time.Now()
	}
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// dueAfter is S3's due time of an action days after t: rounded up to
// the next midnight UTC.
func dueAfter(t time.Time, days int) time.Time {
	e := t.UTC().AddDate(0, 0, days)
	if d := e.Truncate(24 * time.Hour); !d.Equal(e) {
		return d.Add(24 * time.Hour)
	}
	return e
}

// lifecycleCluster starts masters on a fake clock whose lifecycle worker
// runs only when a test calls LifecycleOnce, two versions a step.
func lifecycleCluster(t *testing.T, masters int) (*testcluster.Cluster, *fakeClock) {
	clk := &fakeClock{}
	c := testcluster.Start(t, testcluster.Options{Masters: masters, Tune: func(cfg *master.Config) {
		cfg.Now = clk.Now
		cfg.LifecycleInterval = time.Hour
		cfg.LifecyclePage = 2
	}})
	return c, clk
}

// lifecyclePass runs lifecycle steps on the leader until it finishes a
// full pass, and returns its progress.
func lifecyclePass(t *testing.T, c *testcluster.Cluster) proto.LifecycleStats {
	t.Helper()
	srv := c.Leader().Server()
	before := srv.LifecycleProgress().Passes
	for range 200 {
		if err := srv.LifecycleOnce(ctxT(t, 10*time.Second)); err != nil {
			t.Fatalf("lifecycle step: %v", err)
		}
		if p := srv.LifecycleProgress(); p.Passes > before {
			return p
		}
	}
	t.Fatalf("no full lifecycle pass in 200 steps: %+v", srv.LifecycleProgress())
	return proto.LifecycleStats{}
}

func setLifecycle(t *testing.T, c *testcluster.Cluster, bucket string, rules []proto.LifecycleRule) {
	t.Helper()
	if err := c.Client().SetBucketConfig(ctxT(t, 10*time.Second), proto.BucketConfigRequest{Bucket: bucket, Lifecycle: &rules}); err != nil {
		t.Fatal(err)
	}
}

func keysOf(t *testing.T, c *testcluster.Cluster, bucket string) map[string]bool {
	t.Helper()
	res, err := c.Client().List(ctxT(t, 10*time.Second), proto.ListRequest{Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, o := range res.Objects {
		out[o.Key] = true
	}
	return out
}

// versionsOf lists a key's versions newest first, "M" for a delete
// marker and the content otherwise.
func versionsOf(t *testing.T, c *testcluster.Cluster, bucket, key string) []string {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	res, err := c.Client().Versions(ctx, proto.VersionsRequest{Bucket: bucket, Prefix: key})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range res.Versions {
		if v.Key != key {
			continue
		}
		if v.DeleteMarker {
			out = append(out, "M")
			continue
		}
		l, err := c.Client().LocateVersion(ctx, bucket, key, v.VersionName(), false)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(l.Object.Inline))
	}
	return out
}

func intp(n int) *int       { return &n }
func strp(s string) *string { return &s }

// TestLifecycleExpiresByDaysAndDate: Expiration by Days (rounded up to
// the next midnight UTC) and by Date, with prefix, size and And filters,
// in a bucket never versioned; a disabled rule does nothing.
func TestLifecycleExpiresByDaysAndDate(t *testing.T) {
	c, clk := lifecycleCluster(t, 1)
	cl := c.Client()
	ctx := ctxT(t, 30*time.Second)
	if err := cl.CreateBucket(ctx, "logs"); err != nil {
		t.Fatal(err)
	}
	var first, last time.Time
	for _, k := range []string{"tmp/a", "tmp/b", "keep/big", "keep/s", "other"} {
		data := "hello"
		if k == "keep/s" {
			data = "ab"
		}
		o, err := cl.Commit(ctx, inline("logs", k, data))
		if err != nil {
			t.Fatal(err)
		}
		if first.IsZero() {
			first = o.Modified
		}
		last = o.Modified
	}
	three := int64(3)
	date := last.UTC().Truncate(24*time.Hour).AddDate(0, 0, 40)
	setLifecycle(t, c, "logs", []proto.LifecycleRule{
		{ID: "tmp", Status: proto.LifecycleEnabled, Filter: &proto.LifecycleFilter{Prefix: strp("tmp/")},
			Expiration: &proto.LifecycleExpiration{Days: intp(1)}},
		{ID: "dated", Status: proto.LifecycleEnabled, Filter: &proto.LifecycleFilter{And: &proto.LifecycleAnd{
			Prefix: strp("keep/"), ObjectSizeGreaterThan: &three}},
			Expiration: &proto.LifecycleExpiration{Date: date.Format(time.RFC3339)}},
		{ID: "off", Status: proto.LifecycleDisabled, Filter: &proto.LifecycleFilter{},
			Expiration: &proto.LifecycleExpiration{Days: intp(1)}},
	})
	want := map[string]bool{"tmp/a": true, "tmp/b": true, "keep/big": true, "keep/s": true, "other": true}
	clk.set(dueAfter(first, 1).Add(-time.Minute)) // a day later, not yet the next midnight
	if p := lifecyclePass(t, c); p.Expired != 0 || !mapsEqual(keysOf(t, c, "logs"), want) {
		t.Fatalf("expired before midnight: %+v", p)
	}
	clk.set(dueAfter(last, 1))
	p := lifecyclePass(t, c)
	delete(want, "tmp/a")
	delete(want, "tmp/b")
	if got := keysOf(t, c, "logs"); !mapsEqual(got, want) || p.Expired != 2 {
		t.Fatalf("at midnight: keys %v, progress %+v", got, p)
	}
	clk.set(date.Add(-time.Minute))
	if p := lifecyclePass(t, c); p.Expired != 2 {
		t.Fatalf("expired before the date: %+v", p)
	}
	clk.set(date)
	p = lifecyclePass(t, c)
	delete(want, "keep/big") // keep/s is 2 bytes: not greater than 3
	if got := keysOf(t, c, "logs"); !mapsEqual(got, want) || p.Expired != 3 || p.Scanned == 0 {
		t.Fatalf("on the date: keys %v, progress %+v", got, p)
	}
	st, err := cl.Status(ctx)
	if err != nil || st.Lifecycle.Expired != 3 || st.Lifecycle.Passes < 4 {
		t.Fatalf("status lifecycle = %+v, %v", st.Lifecycle, err)
	}
	fams := parseMetrics(t, scrapeMetrics(t, c.Leader().HTTPAddr))
	for name, want := range map[string]float64{"granary_lifecycle_expired_total": 3, "granary_lifecycle_passes_total": float64(st.Lifecycle.Passes),
		"granary_lifecycle_scanned_total": float64(st.Lifecycle.Scanned), "granary_lifecycle_uploads_aborted_total": 0} {
		if f := fams[name]; f == nil || f.GetMetric()[0].GetCounter().GetValue() != want {
			t.Errorf("%s = %v, want %v", name, f.GetMetric(), want)
		}
	}
}

func mapsEqual(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// TestLifecycleVersionsAcrossLeaderChange: noncurrent expiry (keeping
// the newest noncurrent version), expired object delete markers,
// expiry of current versions behind a delete marker, multipart abort,
// and a locked version left alone; the leader is killed in the middle
// of a pass, and the new leader finishes it without applying anything
// twice (more passes change nothing).
func TestLifecycleVersionsAcrossLeaderChange(t *testing.T) {
	c, clk := lifecycleCluster(t, 3)
	cl := c.Client()
	ctx := ctxT(t, 60*time.Second)
	if err := cl.CreateBucket(ctx, "vers"); err != nil {
		t.Fatal(err)
	}
	if err := cl.SetVersioning(ctx, "vers", proto.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	if err := cl.CreateBucketWith(ctx, proto.Bucket{Name: "held", ObjectLock: true, Versioning: proto.VersioningEnabled}); err != nil {
		t.Fatal(err)
	}
	for _, put := range [][2]string{{"doc", "v1"}, {"doc", "v2"}, {"doc", "v3"}, {"exp/x", "x1"}, {"gone", "g1"}} {
		if _, err := cl.Commit(ctx, inline("vers", put[0], put[1])); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []string{"gone", "marker-only"} {
		if _, err := cl.DeleteVersioned(ctx, proto.DeleteRequest{Bucket: "vers", Key: key}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cl.Commit(ctx, inline("held", "k", "h1")); err != nil {
		t.Fatal(err)
	}
	if err := cl.SetLock(ctx, proto.LockRequest{Bucket: "held", Key: "k", LegalHold: proto.LegalHoldOn}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Commit(ctx, inline("held", "k", "h2")); err != nil {
		t.Fatal(err)
	}
	up, err := cl.CreateUpload(ctx, proto.Upload{Bucket: "vers", Key: "big"})
	if err != nil {
		t.Fatal(err)
	}
	marker := true
	setLifecycle(t, c, "vers", []proto.LifecycleRule{
		{ID: "old", Status: proto.LifecycleEnabled, Filter: &proto.LifecycleFilter{},
			NoncurrentVersionExpiration: &proto.NoncurrentExpiration{NoncurrentDays: intp(1), NewerNoncurrentVersions: intp(1)}},
		{ID: "markers", Status: proto.LifecycleEnabled, Filter: &proto.LifecycleFilter{},
			Expiration: &proto.LifecycleExpiration{ExpiredObjectDeleteMarker: &marker}},
		{ID: "exp", Status: proto.LifecycleEnabled, Prefix: strp("exp/"), Expiration: &proto.LifecycleExpiration{Days: intp(1)}},
		{ID: "uploads", Status: proto.LifecycleEnabled, Filter: &proto.LifecycleFilter{},
			AbortIncompleteMultipartUpload: &proto.AbortIncompleteUpload{DaysAfterInitiation: intp(3)}},
	})
	setLifecycle(t, c, "held", []proto.LifecycleRule{{ID: "old", Status: proto.LifecycleEnabled, Filter: &proto.LifecycleFilter{},
		NoncurrentVersionExpiration: &proto.NoncurrentExpiration{NoncurrentDays: intp(1)}}})

	// Every 1-day action is due a minute before the upload's 3 days are.
	abortAt := dueAfter(up.Created, 3)
	clk.set(abortAt.Add(-time.Minute))
	first := c.Leader()
	for range 3 { // part of a pass: two versions a step
		if err := first.Server().LifecycleOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if p := first.Server().LifecycleProgress(); p.Passes != 0 || p.Scanned == 0 {
		t.Fatalf("first leader's progress = %+v", p)
	}
	c.Kill(first)
	p := lifecyclePass(t, c)
	if c.Leader() == first {
		t.Fatal("the killed member leads")
	}
	p2 := lifecyclePass(t, c) // a second pass finds nothing more to do
	if p2.Expired+p2.NoncurrentExpired+p2.MarkersRemoved+p2.UploadsAborted != p.Expired+p.NoncurrentExpired+p.MarkersRemoved+p.UploadsAborted {
		t.Fatalf("a second pass applied more: %+v then %+v", p, p2)
	}
	for key, want := range map[string][]string{
		"doc":         {"v3", "v2"}, // v1 is the second noncurrent one
		"exp/x":       {"M", "x1"},  // hidden behind one delete marker, however many passes ran
		"gone":        {"M", "g1"},  // a marker with a version behind it stays
		"marker-only": nil,          // an expired object delete marker is removed
	} {
		if got := versionsOf(t, c, "vers", key); !slicesEqual(got, want) {
			t.Errorf("%s: versions %q, want %q", key, got, want)
		}
	}
	if got := versionsOf(t, c, "held", "k"); !slicesEqual(got, []string{"h2", "h1"}) {
		t.Errorf("held/k: versions %q: a version under legal hold was removed", got)
	}
	if p.Skipped == 0 {
		t.Errorf("the held version was not counted as skipped: %+v", p)
	}
	ups, err := cl.ListUploads(ctx, "vers", "")
	if err != nil || len(ups) != 1 || ups[0].ID != up.ID {
		t.Fatalf("upload aborted before its 3 days: %v %v", ups, err)
	}
	clk.set(abortAt)
	p = lifecyclePass(t, c)
	if ups, err := cl.ListUploads(ctx, "vers", ""); err != nil || len(ups) != 0 || p.UploadsAborted != 1 {
		t.Fatalf("uploads after their days: %v %v, progress %+v", ups, err, p)
	}
	if got := versionsOf(t, c, "vers", "exp/x"); !slicesEqual(got, []string{"M", "x1"}) {
		t.Errorf("exp/x after more passes: %q", got)
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestLifecycleStepNeedsLeader: a follower's worker does nothing.
func TestLifecycleStepNeedsLeader(t *testing.T) {
	c, _ := lifecycleCluster(t, 3)
	leader := c.Leader()
	for _, n := range c.Nodes() {
		if n == leader {
			continue
		}
		if err := n.Server().LifecycleOnce(context.Background()); !errors.Is(err, master.ErrNotLeader) {
			t.Fatalf("%s: step on a follower: %v", n.ID, err)
		}
	}
}
