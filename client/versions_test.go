package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/testcluster"
)

// versionOp is one acknowledged change of a versioned key, with its real
// time interval.
type versionOp struct {
	worker     int
	marker     bool
	id         string
	call, done time.Time
}

// TestVersionedWritesAcrossLeaderKills runs versioned puts and deletes on
// a few keys of a versioned bucket while the master leader is killed and
// restarted (the writers keep going until both kills are over).
// Afterwards every acknowledged version (delete markers
// included) is listed, once, under its key; version ids follow real time
// (an operation acknowledged before another began has the smaller id),
// which is what a linearizable order of the versions requires; and each
// key's listing is newest first with its latest version readable.
func TestVersionedWritesAcrossLeaderKills(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 3, ChunkServers: 3, ChunkSize: testChunk})
	cl := c.DataClient(nil)
	ctx := ctxT(t, 2*time.Minute)
	if err := cl.CreateBucket(ctx, "vfault"); err != nil {
		t.Fatal(err)
	}
	if err := cl.SetVersioning(ctx, "vfault", client.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	keys := []string{"k0", "k1", "k2"}
	const workers, opsEach = 4, 15
	var mu sync.Mutex
	acked := map[string][]versionOp{}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() { // owned by wg; ends once the kills are over and it did opsEach operations
			defer wg.Done()
			for i := 0; ; i++ {
				if i >= opsEach {
					select {
					case <-stop:
						return
					default:
					}
				}
				key := keys[(w+i)%len(keys)]
				op := versionOp{worker: w, call: time.Now()}
				octx, cancel := context.WithTimeout(ctx, 20*time.Second)
				var err error
				if i%4 == 3 {
					var res client.DeleteResult
					res, err = cl.DeleteVersion(octx, "vfault", key, "", client.VersionDeleteOptions{})
					op.marker, op.id = true, res.VersionID
				} else {
					body := fmt.Sprintf("w%d-%d", w, i)
					var o client.ObjectInfo
					o, err = cl.Put(octx, "vfault", key, bytes.NewReader([]byte(body)), int64(len(body)), nil)
					op.id = o.VersionID
				}
				cancel()
				op.done = time.Now()
				if err != nil {
					continue // not acknowledged: it may or may not have happened
				}
				mu.Lock()
				acked[key] = append(acked[key], op)
				mu.Unlock()
			}
		}()
	}
	go func() { // owned by this test: kills the leader twice while the workers run
		defer close(stop)
		for range 2 {
			leader := c.Leader()
			c.Kill(leader)
			c.WaitFor(30*time.Second, "a new leader", func() bool { l := c.Leader(); return l != nil && l != leader })
			c.Restart(leader)
		}
	}()
	<-stop
	wg.Wait()

	total := 0
	for _, key := range keys {
		ops := acked[key]
		total += len(ops)
		listed := listAllVersions(t, cl, key)
		ids := map[string]bool{}
		for i, v := range listed {
			if ids[v.VersionID] {
				t.Fatalf("%s: version %s listed twice", key, v.VersionID)
			}
			ids[v.VersionID] = true
			if i > 0 && v.VersionID >= listed[i-1].VersionID {
				t.Fatalf("%s: versions not newest first: %s after %s", key, v.VersionID, listed[i-1].VersionID)
			}
			if v.IsLatest != (i == 0) {
				t.Fatalf("%s: version %d latest=%v", key, i, v.IsLatest)
			}
		}
		for _, op := range ops {
			if !ids[op.id] {
				t.Fatalf("%s: acknowledged version %s (marker %v) is not listed", key, op.id, op.marker)
			}
		}
		for _, a := range ops {
			for _, b := range ops {
				if a.done.Before(b.call) && a.id >= b.id {
					t.Fatalf("%s: %s was acknowledged before %s began, but its id is not smaller", key, a.id, b.id)
				}
			}
		}
		if len(listed) > 0 {
			latest := listed[0]
			_, err := cl.Stat(ctx, "vfault", key)
			switch {
			case latest.DeleteMarker && !errors.Is(err, client.ErrNoSuchKey):
				t.Fatalf("%s: latest is a delete marker but stat says %v", key, err)
			case !latest.DeleteMarker && err != nil:
				t.Fatalf("%s: latest version unreadable: %v", key, err)
			}
		}
	}
	if total < workers*opsEach/2 {
		t.Fatalf("only %d of %d operations were acknowledged", total, workers*opsEach)
	}
	t.Logf("%d acknowledged versioned operations across 2 leader kills", total)
}

func listAllVersions(t *testing.T, cl *client.Client, key string) []client.ObjectVersion {
	t.Helper()
	var out []client.ObjectVersion
	req := client.VersionsRequest{Bucket: "vfault", Prefix: key, MaxKeys: 7}
	for {
		res, err := cl.ListVersions(ctxT(t, 30*time.Second), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range res.Versions {
			if v.Key == key {
				out = append(out, v)
			}
		}
		if !res.IsTruncated {
			return slices.Clip(out)
		}
		req.KeyMarker, req.VersionIDMarker = res.NextKeyMarker, res.NextVersionIDMarker
	}
}
