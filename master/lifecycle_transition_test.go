package master_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master"
)

// TestLifecycleTransitionAcrossLeaderChange: Transition (Days, prefix
// filter) and NoncurrentVersionTransition to STANDARD_IA, which the
// operator mapped to rs-2-1, on a clock moved 31 days ahead. The first
// leader queues the three due versions and its worker converts at least
// one before the leader dies; the next leader's pass queues only the ones
// left (none when all were done), converts them, and never converts one
// twice. (A loaded machine may move leadership more often; the test then
// drives whichever member leads.) Every transitioned version reads back byte for
// byte as stripes of STANDARD_IA; the current version the noncurrent rule
// does not select, and the object outside the filter, stay as they were.
func TestLifecycleTransitionAcrossLeaderChange(t *testing.T) {
	clk := &offsetClock{}
	c, cl := convCluster(t, 3, func(cfg *master.Config) {
		cfg.Now, cfg.StorageClasses = clk.Now, map[string]string{"STANDARD_IA": "rs-2-1"}
		cfg.LifecycleInterval, cfg.ConvertInterval, cfg.ConvertBandwidth = time.Hour, time.Hour, 256<<10
	})
	ctx := ctxT(t, 3*time.Minute)
	if err := cl.CreateBucket(ctx, "tier"); err != nil {
		t.Fatal(err)
	}
	if err := c.Client().SetVersioning(ctx, "tier", proto.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	data := map[string][]byte{}
	put := func(key string, n int64, seed uint64) string {
		b := randBytes(n, seed)
		info, err := cl.Put(ctx, "tier", key, bytes.NewReader(b), -1, nil)
		if err != nil {
			t.Fatal(err)
		}
		data[key+"@"+info.VersionID] = b
		return info.VersionID
	}
	old := put("doc", 40_000, 1)
	cur := put("doc", 50_000, 2)
	x := put("cur/x", 2*ecChunk+5, 3) // three chunks
	y := put("cur/y", 30_000, 4)
	z := put("keep/z", 30_000, 5)
	setLifecycle(t, c, "tier", []proto.LifecycleRule{
		{ID: "cool", Status: proto.LifecycleEnabled, Filter: &proto.LifecycleFilter{Prefix: strp("cur/")},
			Transitions: []proto.LifecycleTransition{{Days: intp(30), StorageClass: "STANDARD_IA"}}},
		{ID: "archive", Status: proto.LifecycleEnabled, Filter: &proto.LifecycleFilter{Prefix: strp("doc")},
			NoncurrentVersionTransitions: []proto.NoncurrentTransition{{NoncurrentDays: intp(10), StorageClass: "STANDARD_IA"}}},
	})
	bad := []proto.LifecycleRule{{ID: "cold", Status: proto.LifecycleEnabled, Filter: &proto.LifecycleFilter{},
		Transitions: []proto.LifecycleTransition{{Days: intp(1), StorageClass: "GLACIER"}}}}
	if err := c.Client().SetBucketConfig(ctx, proto.BucketConfigRequest{Bucket: "tier", Lifecycle: &bad}); err == nil {
		t.Fatal("a transition to an unmapped storage class was taken")
	}

	clk.jump(c, 31*24*time.Hour)
	// transitioned counts the versions whose class is STANDARD_IA in the
	// state.
	transitioned := func() int {
		n := 0
		for _, v := range []struct{ key, vid string }{{"cur/x", x}, {"cur/y", y}, {"doc", old}} {
			if o, err := cl.OpenVersion(ctx, "tier", v.key, v.vid); err != nil {
				t.Fatal(err)
			} else if o.Info().StorageClass == "STANDARD_IA" {
				n++
			}
		}
		return n
	}
	// drive runs a lifecycle pass on the leader unless it ran one already
	// (a leader change, which a loaded machine may bring, empties the
	// queue), and a conversion step.
	drive := func() {
		srv := c.Leader().Server()
		if srv.LifecycleProgress().Passes == 0 {
			for range 100 {
				err := srv.LifecycleOnce(ctx)
				if errors.Is(err, master.ErrNotLeader) || srv.LifecycleProgress().Passes > 0 {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := srv.ConvertOnce(ctx); err != nil && !errors.Is(err, master.ErrNotLeader) {
			t.Fatal(err)
		}
	}
	first := c.Leader()
	if p := lifecyclePass(t, c); p.TransitionsQueued != 3 {
		t.Fatalf("first leader's pass: %+v, want 3 transitions queued", p)
	}
	// Its worker (woken by the queue) and the test's steps convert at
	// 256 KiB/s: cur/x, three chunks, takes 2 s; the leader dies once a
	// version is done (the others may be done by then too).
	c.WaitFor(time.Minute, "a version transitioned", func() bool {
		drive() // a no-op pass unless leadership moved (a loaded machine), and a step
		first = c.Leader()
		return transitioned() >= 1
	})
	c.Kill(first)
	term := func() uint64 {
		st, err := c.Client().Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.Term
	}
	next, before := c.Leader(), term()
	p := lifecyclePass(t, c)
	if next == first {
		t.Fatal("the killed member leads")
	}
	done := transitioned()
	if p.TransitionsQueued != int64(3-done) {
		t.Fatalf("next leader's pass: %+v, with %d of 3 done: want the rest queued", p, done)
	}
	c.WaitFor(time.Minute, "the rest transitioned", func() bool {
		drive()
		return transitioned() == 3
	})
	if c.Leader() == next && term() == before { // no leader change since: its counters are the whole story
		srv := next.Server()
		if p := lifecyclePass(t, c); p.TransitionsQueued != int64(3-done) {
			t.Fatalf("another pass queued more: %+v", p)
		}
		if found, err := srv.ConvertOnce(ctx); err != nil || found {
			t.Fatalf("a step after everything is done: found %v, %v", found, err)
		}
		if cv := srv.ConversionProgress(); cv.ConvertedObjects != int64(3-done) || cv.Changed != 0 || cv.Failed != 0 {
			t.Errorf("next leader's conversion: %+v, want %d converted", cv, 3-done)
		}
	}
	t.Logf("%d of 3 transitioned before the leader died, the next one did the rest", done)

	check := func(key, vid, class string, k int) {
		t.Helper()
		o, err := cl.OpenVersion(ctx, "tier", key, vid)
		if err != nil {
			t.Fatal(err)
		}
		info := o.Info()
		got, err := io.ReadAll(o)
		if err != nil || !bytes.Equal(got, data[key+"@"+vid]) {
			t.Errorf("%s@%s: %d bytes, %v", key, vid, len(got), err)
		}
		if info.StorageClass != class {
			t.Errorf("%s@%s: class %q, want %q", key, vid, info.StorageClass, class)
		}
		for _, e := range info.Extents {
			if (e.Stripe != nil) != (k > 0) || k > 0 && (e.Stripe.K != k || e.Stripe.M != 1) {
				t.Errorf("%s@%s: extent %+v, want rs-%d-1: %v", key, vid, e, k, k > 0)
			}
		}
	}
	check("doc", old, "STANDARD_IA", 2)
	check("doc", cur, "", 0)
	check("cur/x", x, "STANDARD_IA", 2)
	check("cur/y", y, "STANDARD_IA", 2)
	check("keep/z", z, "", 0)
	res, err := cl.List(ctx, client.ListRequest{Bucket: "tier", Prefix: "cur/"})
	if err != nil || len(res.Objects) != 2 || res.Objects[0].StorageClass != "STANDARD_IA" || res.Objects[1].StorageClass != "STANDARD_IA" {
		t.Errorf("listing: %+v %v", res.Objects, err)
	}
}
