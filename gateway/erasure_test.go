package gateway_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// TestS3ErasureCodedBucket: objects written through S3 into an rs-4-2
// bucket (six chunk servers) are stored as stripes and read back byte for
// byte, whole and in ranges, also with two of the six servers down.
func TestS3ErasureCodedBucket(t *testing.T) {
	c, mc, _ := startS3On(t, testcluster.Options{Masters: 1, ChunkServers: 6, ChunkSize: 1 << 20}, nil)
	ctx := ctxT(t, 3*time.Minute)
	cl := c.DataClient(nil)
	if err := cl.CreateBucketWith(ctx, client.BucketSpec{Name: "cold", Owner: "root", DataPolicy: "rs-4-2"}); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	objects := map[string][]byte{}
	for _, n := range []int{100 << 10, 1 << 20, 3<<20 + 777} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		key := "obj-" + string(rune('a'+len(objects)))
		objects[key] = b
		if _, err := mc.PutObject(ctx, "cold", key, bytes.NewReader(b), int64(n), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("PUT %s: %v", key, err)
		}
	}
	loc, err := c.Client().Locate(ctx, "cold", "obj-c")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range loc.Object.Extents {
		if e.Stripe == nil || len(e.Stripe.Shards) != 6 {
			t.Fatalf("extent %+v is not an rs-4-2 stripe", e)
		}
	}
	check := func(when string) {
		t.Helper()
		for key, want := range objects {
			o, err := mc.GetObject(ctx, "cold", key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(o)
			o.Close()
			if err != nil || sha256.Sum256(got) != sha256.Sum256(want) {
				t.Fatalf("%s: GET %s: %d bytes, %v", when, key, len(got), err)
			}
			opts := minio.GetObjectOptions{}
			opts.SetRange(int64(len(want)/3), int64(len(want)/3+4095))
			o, err = mc.GetObject(ctx, "cold", key, opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err = io.ReadAll(o)
			o.Close()
			if err != nil || !bytes.Equal(got, want[len(want)/3:len(want)/3+4096]) {
				t.Fatalf("%s: ranged GET %s: %d bytes, %v", when, key, len(got), err)
			}
		}
	}
	check("healthy")
	servers := c.ChunkServers()
	c.KillChunkServer(servers[1])
	c.KillChunkServer(servers[4])
	check("two of six servers down")
}

// TestS3StorageClassPolicies: with STANDARD_IA mapped to rs-4-2, a PUT
// asking for STANDARD_IA is stored as stripes and one asking for nothing
// is replicated, in the same bucket; HEAD and listings name the class.
func TestS3StorageClassPolicies(t *testing.T) {
	c, mc, _ := startS3On(t, testcluster.Options{Masters: 1, ChunkServers: 6, ChunkSize: 1 << 20,
		Tune: func(cfg *master.Config) { cfg.StorageClasses = map[string]string{"STANDARD_IA": "rs-4-2"} }}, nil)
	ctx := ctxT(t, 2*time.Minute)
	if err := mc.MakeBucket(ctx, "mixed", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("granary "), 40_000)
	for key, class := range map[string]string{"cold": "STANDARD_IA", "hot": ""} {
		if _, err := mc.PutObject(ctx, "mixed", key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{StorageClass: class}); err != nil {
			t.Fatal(err)
		}
		loc, err := c.Client().Locate(ctx, "mixed", key)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range loc.Object.Extents {
			if striped := e.Stripe != nil; striped != (class == "STANDARD_IA") {
				t.Fatalf("%s (class %q): extent %+v", key, class, e)
			}
		}
		st, err := mc.StatObject(ctx, "mixed", key, minio.StatObjectOptions{})
		if got := st.Metadata.Get("X-Amz-Storage-Class"); err != nil || got != class { // S3 leaves STANDARD out
			t.Fatalf("HEAD %s: class %q, %v", key, got, err)
		}
	}
	for o := range mc.ListObjects(ctx, "mixed", minio.ListObjectsOptions{}) {
		want := map[string]string{"cold": "STANDARD_IA", "hot": "STANDARD"}[o.Key]
		if o.Err != nil || o.StorageClass != want {
			t.Fatalf("listing %s: class %q, want %q (%v)", o.Key, o.StorageClass, want, o.Err)
		}
	}
}
