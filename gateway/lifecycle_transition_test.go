package gateway_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/lifecycle"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// aheadClock is the masters' clock, moved ahead by the test so that
// lifecycle rules come due (chunk servers stay alive: their heartbeats
// are dated by it too).
type aheadClock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *aheadClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.d)
}

// TestS3LifecycleTransition: a Transition rule (Days, with a prefix
// filter) to a storage class the operator mapped to rs-4-2 moves the
// objects it selects, once due, to stripes: HEAD, GET and listings then
// report STANDARD_IA and the bytes read back as written; objects outside
// the filter stay replicated STANDARD.
func TestS3LifecycleTransition(t *testing.T) {
	clk := &aheadClock{}
	c, mc, addr := startS3On(t, testcluster.Options{Masters: 1, ChunkServers: 6, ChunkSize: 256 << 10, Tune: func(cfg *master.Config) {
		cfg.Now, cfg.StorageClasses = clk.Now, map[string]string{"STANDARD_IA": "rs-4-2"}
		cfg.LifecycleInterval, cfg.ConvertInterval, cfg.ConvertBandwidth = 50*time.Millisecond, 50*time.Millisecond, 0
	}}, nil)
	ctx := ctxT(t, 3*time.Minute)
	if err := mc.MakeBucket(ctx, "tier", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	objects := map[string][]byte{}
	for i, key := range []string{"cold/a", "cold/b", "cold/small", "hot/c"} {
		n := 300<<10 + i*100_000
		if key == "cold/small" {
			n = 100
		}
		b := make([]byte, n)
		r := rand.New(rand.NewPCG(uint64(i), 7))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		objects[key] = b
		if _, err := mc.PutObject(ctx, "tier", key, bytes.NewReader(b), int64(n), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	conf := lifecycle.NewConfiguration()
	conf.Rules = []lifecycle.Rule{{ID: "cool", Status: "Enabled", RuleFilter: lifecycle.Filter{Prefix: "cold/"},
		Transition: lifecycle.Transition{Days: 30, StorageClass: "STANDARD_IA"}}}
	if err := mc.SetBucketLifecycle(ctx, "tier", conf); err != nil {
		t.Fatal(err)
	}
	got, err := mc.GetBucketLifecycle(ctx, "tier")
	if err != nil || len(got.Rules) != 1 || got.Rules[0].Transition.Days != 30 || got.Rules[0].Transition.StorageClass != "STANDARD_IA" {
		t.Fatalf("lifecycle read back: %+v %v", got, err)
	}
	class := func(key string) string {
		st, err := mc.StatObject(ctx, "tier", key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("HEAD %s: %v", key, err)
		}
		return st.Metadata.Get("X-Amz-Storage-Class") // minio-go leaves StorageClass empty on HEAD
	}
	if cl := class("cold/a"); cl != "" {
		t.Fatalf("cold/a before its days: %q", cl)
	}

	clk.mu.Lock()
	clk.d = 31 * 24 * time.Hour
	clk.mu.Unlock()
	c.WaitFor(time.Minute, "the cold objects transitioned", func() bool {
		for _, key := range []string{"cold/a", "cold/b", "cold/small"} {
			if class(key) != "STANDARD_IA" {
				return false
			}
		}
		return true
	})
	if cl := class("hot/c"); cl != "" {
		t.Errorf("hot/c, outside the filter: %q", cl)
	}
	listed := map[string]string{}
	for o := range mc.ListObjects(ctx, "tier", minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		listed[o.Key] = o.StorageClass
	}
	if listed["cold/a"] != "STANDARD_IA" || listed["cold/b"] != "STANDARD_IA" || listed["cold/small"] != "STANDARD_IA" || listed["hot/c"] != "STANDARD" {
		t.Errorf("listing's classes: %v", listed)
	}
	for key, want := range objects {
		loc, err := c.Client().Locate(ctx, "tier", key)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range loc.Object.Extents {
			if striped := e.Stripe != nil && e.Stripe.K == 4 && e.Stripe.M == 2; striped != strings.HasPrefix(key, "cold/") {
				t.Errorf("%s: extent %+v (striped %v)", key, e, striped)
			}
		}
		o, err := mc.GetObject(ctx, "tier", key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(o)
		o.Close()
		if err != nil || !bytes.Equal(b, want) {
			t.Errorf("GET %s: %d bytes, %v", key, len(b), err)
		}
	}
	// Raw HTTP: the header a HEAD sends.
	req, err := http.NewRequest("HEAD", fmt.Sprintf("http://%s/tier/cold/b", addr), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(signer.SignV4(*req, rootAccess, rootSecret, "", "us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Amz-Storage-Class") != "STANDARD_IA" {
		t.Fatalf("raw HEAD: %d, x-amz-storage-class %q", resp.StatusCode, resp.Header.Get("X-Amz-Storage-Class"))
	}
}
