package master_test

import (
	"bytes"
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
// left, converts them, and never converts one twice. Every transitioned version reads back byte for
// byte as stripes of STANDARD_IA; the current version the noncurrent rule
// does not select, and the object outside the filter, stay as they were.
func TestLifecycleTransitionAcrossLeaderChange(t *testing.T) {
	clk := &offsetClock{}
	c, cl := convCluster(t, 3, func(cfg *master.Config) {
		cfg.Now, cfg.StorageClasses = clk.Now, map[string]string{"STANDARD_IA": "rs-2-1"}
		cfg.LifecycleInterval, cfg.ConvertInterval, cfg.ConvertBandwidth = time.Hour, time.Hour, 64<<10
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
	first := c.Leader()
	if p := lifecyclePass(t, c); p.TransitionsQueued != 3 {
		t.Fatalf("first leader's pass: %+v, want 3 transitions queued", p)
	}
	// Its worker (woken by the queue) converts at 64 KiB/s: cur/x, three
	// chunks, takes 8 s; it dies once that one is done.
	c.WaitFor(time.Minute, "the first leader converts a version", func() bool {
		return first.Server().ConversionProgress().Transitioned >= 1
	})
	c.Kill(first)
	p := lifecyclePass(t, c)
	if c.Leader() == first {
		t.Fatal("the killed member leads")
	}
	done := 0
	for _, v := range []struct{ key, vid string }{{"cur/x", x}, {"cur/y", y}, {"doc", old}} {
		if o, err := cl.OpenVersion(ctx, "tier", v.key, v.vid); err != nil {
			t.Fatal(err)
		} else if o.Info().StorageClass == "STANDARD_IA" {
			done++
		}
	}
	if done == 0 || p.TransitionsQueued != int64(3-done) {
		t.Fatalf("next leader's pass: %+v, with %d of 3 done: want the rest queued", p, done)
	}
	srv := c.Leader().Server()
	c.WaitFor(time.Minute, "the next leader converts the rest", func() bool {
		if _, err := srv.ConvertOnce(ctx); err != nil {
			t.Fatal(err)
		}
		return srv.ConversionProgress().Transitioned == int64(3-done)
	})
	if p := lifecyclePass(t, c); p.TransitionsQueued != int64(3-done) {
		t.Fatalf("another pass queued more: %+v", p)
	}
	if found, err := srv.ConvertOnce(ctx); err != nil || found {
		t.Fatalf("a step after everything is done: found %v, %v", found, err)
	}
	if cv := srv.ConversionProgress(); cv.ConvertedObjects != int64(3-done) || cv.Changed != 0 || cv.Failed != 0 {
		t.Errorf("next leader's conversion: %+v, want %d converted", cv, 3-done)
	}
	t.Logf("the first leader converted %d of 3, the next one the rest", done)

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
