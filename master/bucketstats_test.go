package master_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
)

// TestBucketCounts checks the leader's per-bucket counts against what was
// written: current objects, every stored version, logical bytes, and the
// stored bytes each layout takes (three replicas, a 4+2 stripe, inline
// data once, read from the versions' extents); a versioned bucket's delete marker hides an object without
// freeing its versions. The counts come with the buckets API and are
// never stored: a create request that carries some has them ignored.
func TestBucketCounts(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 1, ChunkServers: 6, Replication: 3})
	ctx := ctxT(t, 60*time.Second)
	cl := c.DataClient(nil)
	admin, err := client.NewAdmin(client.Config{Masters: c.Addrs(), Secret: testcluster.Secret})
	if err != nil {
		t.Fatal(err)
	}
	const big, small = 64 << 10, 100
	put := func(bucket, key string, n int) { // in chunks (one master: the client inlines nothing)
		t.Helper()
		if _, err := cl.Put(ctx, bucket, key, bytes.NewReader(bytes.Repeat([]byte("g"), n)), int64(n), nil); err != nil {
			t.Fatalf("put %s/%s: %v", bucket, key, err)
		}
	}
	mc := c.Client()
	putInline := func(bucket, key string, n int) {
		t.Helper()
		if _, err := mc.Commit(ctx, inline(bucket, key, strings.Repeat("i", n))); err != nil {
			t.Fatalf("commit %s/%s: %v", bucket, key, err)
		}
	}
	for _, b := range []string{"plain", "versioned", "empty", "gone"} {
		if err := cl.CreateBucket(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.CreateBucketWith(ctx, client.BucketSpec{Name: "striped", DataPolicy: "rs-4-2"}); err != nil {
		t.Fatal(err)
	}
	put("plain", "a", big)
	put("plain", "b", big)
	putInline("plain", "c", small)
	put("striped", "a", big)
	if err := cl.SetVersioning(ctx, "versioned", proto.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	put("versioned", "k", big)
	put("versioned", "k", big)
	if err := cl.Delete(ctx, "versioned", "k"); err != nil { // a delete marker on top
		t.Fatal(err)
	}
	putInline("versioned", "j", small)

	// A count carried by a create request is not taken.
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+c.Leader().HTTPAddr+proto.RouteBuckets+"/forged",
		strings.NewReader(`{"usage":{"objects":5,"logicalBytes":9}}`))
	req.Header.Set("Authorization", "Bearer "+testcluster.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(string(raw), "usage") {
		t.Fatalf("create with a usage: %d %s", resp.StatusCode, raw)
	}
	if b, err := admin.Bucket(ctx, "forged"); err != nil || (b.Usage != nil && b.Usage.Objects != 0) {
		t.Fatalf("forged bucket: %+v %v", b.Usage, err)
	}

	if err := cl.DeleteBucket(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	before := time.Now().UTC()
	if err := c.Leader().Server().CountBucketsOnce(ctx); err != nil {
		t.Fatal(err)
	}
	bs, err := admin.Buckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]proto.BucketUsage{}
	for _, b := range bs {
		if b.Usage == nil {
			t.Fatalf("bucket %s not counted after a pass", b.Name)
		}
		if b.Usage.CountedAt.Before(before.Add(-time.Second)) {
			t.Errorf("bucket %s counted at %v, before the pass began at %v", b.Name, b.Usage.CountedAt, before)
		}
		u := *b.Usage
		u.CountedAt = time.Time{}
		got[b.Name] = u
	}
	want := map[string]proto.BucketUsage{
		"plain":     {Objects: 3, Versions: 3, LogicalBytes: 2*big + small, StoredBytes: 2*3*big + small},
		"striped":   {Objects: 1, Versions: 1, LogicalBytes: big, StoredBytes: big * 6 / 4},
		"versioned": {Objects: 1, Versions: 3, LogicalBytes: 2*big + small, StoredBytes: 2*3*big + small},
		"empty":     {},
		"forged":    {},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counts:\n got %v\nwant %v", got, want)
	}
	one, err := admin.Bucket(ctx, "plain")
	if err != nil || one.Usage == nil || one.Usage.Objects != 3 {
		t.Errorf("GET bucket plain: %+v, %v", one.Usage, err)
	}
}
