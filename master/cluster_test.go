package master_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/masterclient"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func inline(bucket, key, data string) proto.CommitRequest {
	return proto.CommitRequest{Object: proto.Object{Bucket: bucket, Key: key, Size: int64(len(data)), Inline: []byte(data)}}
}

func TestSingleMemberBasics(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 1})
	cl := c.Client()
	ctx := ctxT(t, 20*time.Second)
	if err := cl.CreateBucket(ctx, "photos"); err != nil {
		t.Fatal(err)
	}
	if err := cl.CreateBucket(ctx, "photos"); proto.CodeOf(err) != proto.CodeBucketExists {
		t.Fatalf("second create: got %v, want BucketAlreadyExists", err)
	}
	o, err := cl.Commit(ctx, inline("photos", "a/b.txt", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := cl.Stat(ctx, "photos", "a/b.txt")
	if err != nil || string(got.Inline) != "hello" || got.Version != o.Version || got.Size != 5 {
		t.Fatalf("stat = %+v, %v", got, err)
	}
	if err := cl.DeleteBucket(ctx, "photos"); proto.CodeOf(err) != proto.CodeBucketNotEmpty {
		t.Fatalf("delete non-empty bucket: got %v", err)
	}
	if err := cl.Rename(ctx, "photos", "a/b.txt", "c.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Stat(ctx, "photos", "a/b.txt"); proto.CodeOf(err) != proto.CodeNoSuchKey {
		t.Fatalf("stat of renamed source: %v", err)
	}
	if err := cl.Delete(ctx, "photos", "c.txt"); err != nil {
		t.Fatal(err)
	}
	if err := cl.DeleteBucket(ctx, "photos"); err != nil {
		t.Fatal(err)
	}
	ids, err := cl.AllocateChunks(ctx, 10)
	if err != nil || len(ids) != 10 {
		t.Fatalf("allocate: %v %v", ids, err)
	}
	st, err := cl.Status(ctx)
	if err != nil || st.Leader != "m1" || len(st.Members) != 1 || st.Members[0].State != "leader" {
		t.Fatalf("status = %+v, %v", st, err)
	}
}

// writer commits inline objects through its own client until stop closes,
// recording every acknowledged key with its acknowledgement time.
type writer struct {
	mu    sync.Mutex
	acked map[string]time.Time
	errs  atomic.Int64
	total atomic.Int64
}

func (w *writer) run(t *testing.T, c *testcluster.Cluster, g int, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	addrs := c.Addrs()
	rot := append(append([]string{}, addrs[g%len(addrs):]...), addrs[:g%len(addrs)]...)
	cl, err := masterclientNew(rot)
	if err != nil {
		t.Error(err)
		return
	}
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		key := fmt.Sprintf("w%02d/%06d", g, i)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := cl.Commit(ctx, inline("load", key, key))
		cancel()
		if err != nil {
			w.errs.Add(1)
			continue
		}
		w.mu.Lock()
		w.acked[key] = time.Now()
		w.mu.Unlock()
		w.total.Add(1)
	}
}

// localKeys lists every key of bucket in one member's local state.
func localKeys(t *testing.T, c *testcluster.Cluster, addr, bucket string) map[string]bool {
	t.Helper()
	objs, err := c.Client().ListAll(ctxT(t, 10*time.Second), addr, proto.ListRequest{Bucket: bucket})
	if err != nil {
		t.Fatalf("list on %s: %v", addr, err)
	}
	out := map[string]bool{}
	for _, o := range objs {
		out[o.Key] = true
	}
	return out
}

// waitCaughtUp waits until every running member applied the leader's
// commit index.
func waitCaughtUp(c *testcluster.Cluster) {
	leader := c.Leader()
	target := leader.Server().AppliedIndex()
	c.WaitFor(30*time.Second, fmt.Sprintf("members applied index %d", target), func() bool {
		for _, n := range c.Nodes() {
			if srv := n.Server(); srv != nil && srv.AppliedIndex() < target {
				return false
			}
		}
		return true
	})
}

func TestFailoverUnderConcurrentLoad(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 3})
	if err := c.Client().CreateBucket(ctxT(t, 10*time.Second), "load"); err != nil {
		t.Fatal(err)
	}
	w := &writer{acked: map[string]time.Time{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go w.run(t, c, g, stop, &wg)
	}
	c.WaitFor(60*time.Second, "2000 acknowledged commits", func() bool { return w.total.Load() >= 2000 })

	old := c.Leader()
	killed := time.Now()
	c.Kill(old)
	dead := time.Now() // from here on only a new leader can acknowledge
	newLeader := c.Leader()
	elected := time.Since(killed)
	before := w.total.Load()
	c.WaitFor(60*time.Second, "1000 more commits after the kill", func() bool { return w.total.Load() >= before+1000 })
	close(stop)
	wg.Wait()

	gap := writeGap(w, dead).Sub(killed)
	t.Logf("killed leader %s; %s ready %v after the kill; first write acknowledged by the new leader %v after the kill; %d acked, %d failed attempts",
		old.ID, newLeader.ID, elected, gap, w.total.Load(), w.errs.Load())
	if gap > 10*time.Second {
		t.Errorf("writes were unavailable for %v after the leader died", gap)
	}
	waitCaughtUp(c)
	for _, n := range c.Nodes() {
		if n.Server() == nil {
			continue
		}
		have := localKeys(t, c, n.HTTPAddr, "load")
		missing := 0
		for k := range w.acked {
			if !have[k] {
				missing++
			}
		}
		if missing > 0 {
			t.Errorf("%s is missing %d of %d acknowledged commits", n.ID, missing, len(w.acked))
		}
	}
}

// writeGap returns the first acknowledgement after t0.
func writeGap(w *writer, t0 time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var next time.Time
	for _, at := range w.acked {
		if at.After(t0) && (next.IsZero() || at.Before(next)) {
			next = at
		}
	}
	return next
}

func TestPartitionedLeaderCannotAcknowledge(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 3})
	ctx := ctxT(t, 30*time.Second)
	if err := c.Client().CreateBucket(ctx, "part"); err != nil {
		t.Fatal(err)
	}
	old := c.Leader()
	c.Isolate(old)
	// The cut-off leader must refuse, with a retryable error, every write
	// sent to it; none may be acknowledged.
	pinned := c.PinnedClient(old)
	for i := range 20 {
		_, err := pinned.Commit(ctxT(t, 5*time.Second), inline("part", fmt.Sprintf("minority/%d", i), "x"))
		if err == nil {
			t.Fatalf("write %d acknowledged by a leader cut off from the majority", i)
		}
		if !proto.IsRetryable(err) {
			t.Fatalf("write %d: error %v is not retryable", i, err)
		}
	}
	var newLeader *testcluster.Node
	c.WaitFor(20*time.Second, "a leader in the majority", func() bool {
		l := c.Leader()
		newLeader = l
		return l != old
	})
	maj := c.PinnedClient(newLeader)
	if _, err := maj.Commit(ctx, inline("part", "majority", "y")); err != nil {
		t.Fatalf("majority write: %v", err)
	}
	c.Heal()
	waitCaughtUp(c)
	for _, n := range c.Nodes() {
		keys := localKeys(t, c, n.HTTPAddr, "part")
		if !keys["majority"] {
			t.Errorf("%s lacks the majority's write", n.ID)
		}
		for k := range keys {
			if k != "majority" {
				t.Errorf("%s holds %q, written on the minority side", n.ID, k)
			}
		}
	}
}

func TestSnapshotCatchUpAndFullRestart(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 3, Tune: func(cfg *master.Config) {
		cfg.SnapshotThreshold, cfg.TrailingLogs = 64, 16
		cfg.SnapshotInterval = time.Hour // snapshots are taken explicitly
	}})
	cl := c.Client()
	ctx := ctxT(t, 60*time.Second)
	if err := cl.CreateBucket(ctx, "snap"); err != nil {
		t.Fatal(err)
	}
	lagger := c.Nodes()[2]
	if lagger == c.Leader() {
		lagger = c.Nodes()[1]
	}
	c.Kill(lagger)
	for i := range 300 {
		if _, err := cl.Commit(ctx, inline("snap", fmt.Sprintf("k%04d", i), fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range c.Nodes() {
		if srv := n.Server(); srv != nil {
			if err := srv.Snapshot(); err != nil {
				t.Fatalf("snapshot on %s: %v", n.ID, err)
			}
		}
	}
	c.Restart(lagger)
	waitCaughtUp(c)
	if lagger.Server().SnapshotsRestored() == 0 {
		t.Errorf("%s caught up without installing a snapshot; the log was not compacted", lagger.ID)
	}
	want := localKeys(t, c, c.Leader().HTTPAddr, "snap")
	if len(want) != 300 {
		t.Fatalf("leader has %d keys, want 300", len(want))
	}
	assertSameKeys(t, want, localKeys(t, c, lagger.HTTPAddr, "snap"), string(lagger.ID))

	// A whole group restarted from disk has exactly its state.
	applied := map[proto.NodeID]uint64{}
	for _, n := range c.Nodes() {
		applied[n.ID] = n.Server().AppliedIndex()
		c.Kill(n)
	}
	for _, n := range c.Nodes() {
		c.Restart(n)
	}
	c.Leader()
	for _, n := range c.Nodes() {
		if got := n.Server().AppliedIndex(); got < applied[n.ID] {
			t.Errorf("%s restarted at applied index %d, below %d before", n.ID, got, applied[n.ID])
		}
		assertSameKeys(t, want, localKeys(t, c, n.HTTPAddr, "snap"), string(n.ID)+" after restart")
	}
	o, err := cl.Stat(ctx, "snap", "k0123")
	if err != nil || string(o.Inline) != "123" {
		t.Fatalf("stat after restart: %+v %v", o, err)
	}
}

// TestRestartedMemberNeverGoesBack restarts a follower whose log is longer
// than one Raft apply batch. Raft re-feeds the whole log to the state
// machine after a restart; the member's state already holds it, so its
// applied index must never drop below where it stopped (if it did, old
// commands would run again on newer state), and it must end identical to
// the leader's.
func TestRestartedMemberNeverGoesBack(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 3})
	cl := c.Client()
	ctx := ctxT(t, 90*time.Second)
	if err := cl.CreateBucket(ctx, "again"); err != nil {
		t.Fatal(err)
	}
	// Well over one batch (MaxAppendEntries is 512) of overwrites.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if _, err := cl.Commit(ctx, inline("again", fmt.Sprintf("k%d", i%10), fmt.Sprint(g, i))); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	waitCaughtUp(c)
	victim := c.Nodes()[0]
	if victim == c.Leader() {
		victim = c.Nodes()[1]
	}
	stopped := victim.Server().AppliedIndex()
	c.Kill(victim)
	c.Restart(victim)
	srv := victim.Server()
	lowest := srv.AppliedIndex()
	// An entry committed after the restart: once the member applied it,
	// Raft has fed it every entry before it.
	if _, err := cl.Commit(ctx, inline("again", "marker", "after restart")); err != nil {
		t.Fatal(err)
	}
	target := c.Leader().Server().AppliedIndex()
	c.WaitFor(30*time.Second, "restarted member caught up", func() bool {
		a := srv.AppliedIndex()
		lowest = min(lowest, a)
		return a >= target
	})
	if lowest < stopped {
		t.Errorf("%s stopped at applied index %d and went back to %d while Raft replayed its log", victim.ID, stopped, lowest)
	}
	// Every entry up to where it stopped was already in its state: none
	// may run again, and at most the ones committed since may run.
	if ran, skipped := srv.EntriesRun(), srv.EntriesSkipped(); ran > int64(target-stopped) || skipped < 1000 {
		t.Errorf("%s stopped at %d and caught up to %d running %d entries and skipping %d; entries up to %d ran twice",
			victim.ID, stopped, target, ran, skipped, stopped)
	}
	want, got := localVersions(t, c, c.Leader().HTTPAddr, "again"), localVersions(t, c, victim.HTTPAddr, "again")
	if fmt.Sprint(want) != fmt.Sprint(got) {
		t.Errorf("after restart %s holds %v, the leader %v", victim.ID, got, want)
	}
}

// localVersions lists a member's local state as key -> version@etag.
func localVersions(t *testing.T, c *testcluster.Cluster, addr, bucket string) map[string]string {
	t.Helper()
	objs, err := c.Client().ListAll(ctxT(t, 10*time.Second), addr, proto.ListRequest{Bucket: bucket})
	if err != nil {
		t.Fatalf("list on %s: %v", addr, err)
	}
	out := map[string]string{}
	for _, o := range objs {
		out[o.Key] = fmt.Sprintf("%d@%s", o.Version, o.ETag)
	}
	return out
}

func assertSameKeys(t *testing.T, want, got map[string]bool, who string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s has %d keys, want %d", who, len(got), len(want))
	}
	for k := range want {
		if !got[k] {
			t.Errorf("%s lacks %q", who, k)
			return
		}
	}
}

func masterclientNew(addrs []string) (*masterclient.Client, error) {
	return masterclient.New(addrs, testcluster.Secret)
}

// A leader whose state machine failed (a storage error stopped it applying)
// hands leadership to a healthy member instead of answering every request
// with an error.
func TestFailedStateMachineGivesUpLeadership(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 3})
	cl := c.Client()
	ctx := ctxT(t, 60*time.Second)
	if err := cl.CreateBucket(ctx, "fail"); err != nil {
		t.Fatal(err)
	}
	sick := c.Leader()
	sick.Server().FailStateForTest(errors.New("injected: disk gone"))
	if sick.Server().IsLeader() {
		t.Fatal("a member with a failed state machine still reports itself the ready leader")
	}
	c.WaitFor(30*time.Second, "another member leads", func() bool {
		l := c.Leader()
		return l != sick
	})
	if _, err := cl.Commit(ctx, inline("fail", "after", "ok")); err != nil {
		t.Fatalf("commit after the failed leader stepped down: %v", err)
	}
	if o, err := cl.Stat(ctx, "fail", "after"); err != nil || string(o.Inline) != "ok" {
		t.Fatalf("stat: %+v %v", o, err)
	}
}
