package gateway_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/granary-store/granary/gateway"
	"github.com/granary-store/granary/internal/testcluster"
)

const (
	rootAccess = "GRTESTROOTKEY0001"
	rootSecret = "test-root-secret-key-0123456789abcdef"
)

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// startS3 runs a cluster, a gateway in front of it, and returns a minio-go
// client pointed at the gateway.
func startS3(t *testing.T) (*testcluster.Cluster, *minio.Client, string) {
	t.Helper()
	return startS3With(t, nil)
}

func startS3With(t testing.TB, tune func(*gateway.Config)) (*testcluster.Cluster, *minio.Client, string) {
	t.Helper()
	return startS3On(t, testcluster.Options{Masters: 1, ChunkServers: 3, ChunkSize: 256 << 10}, tune)
}

// startS3On is startS3With on a cluster started with opts.
func startS3On(t testing.TB, opts testcluster.Options, tune func(*gateway.Config)) (*testcluster.Cluster, *minio.Client, string) {
	t.Helper()
	c := testcluster.Start(t, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.DefaultConfig()
	cfg.Masters, cfg.ClusterSecret, cfg.Listener = c.Addrs(), testcluster.Secret, ln
	cfg.RootAccessKey, cfg.RootSecretKey = rootAccess, rootSecret
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if tune != nil {
		tune(&cfg)
	}
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	mc, err := minio.New(gw.Addr(), &minio.Options{Creds: credentials.NewStaticV4(rootAccess, rootSecret, ""), Secure: false})
	if err != nil {
		t.Fatal(err)
	}
	return c, mc, gw.Addr()
}

func TestS3BucketsAndObjects(t *testing.T) {
	_, mc, _ := startS3(t)
	ctx := ctxT(t, 2*time.Minute)
	if err := mc.MakeBucket(ctx, "photos", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := mc.MakeBucket(ctx, "photos", minio.MakeBucketOptions{}); minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
		t.Fatalf("second MakeBucket: %v", err)
	}
	if err := mc.MakeBucket(ctx, "Bad_Name", minio.MakeBucketOptions{}); err == nil {
		t.Fatal("invalid bucket name accepted")
	}
	ok, err := mc.BucketExists(ctx, "photos")
	if err != nil || !ok {
		t.Fatalf("BucketExists: %v %v", ok, err)
	}
	if ok, _ := mc.BucketExists(ctx, "nothere"); ok {
		t.Fatal("missing bucket exists")
	}
	bs, err := mc.ListBuckets(ctx)
	if err != nil || len(bs) != 1 || bs[0].Name != "photos" {
		t.Fatalf("ListBuckets: %+v %v", bs, err)
	}
	for _, size := range []int{0, 1, 100 << 10, 700 << 10} {
		data := bytes.Repeat([]byte{byte(size)}, size)
		key := fmt.Sprintf("dir/obj-%d", size)
		info, err := mc.PutObject(ctx, "photos", key, bytes.NewReader(data), int64(size), minio.PutObjectOptions{
			ContentType: "image/x-test", UserMetadata: map[string]string{"owner": "ann"}})
		if err != nil {
			t.Fatalf("put %d: %v", size, err)
		}
		obj, err := mc.GetObject(ctx, "photos", key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("get %d: %d bytes, %v", size, len(got), err)
		}
		st, err := mc.StatObject(ctx, "photos", key, minio.StatObjectOptions{})
		if err != nil || st.Size != int64(size) || st.ContentType != "image/x-test" || st.UserMetadata["Owner"] != "ann" || st.ETag != info.ETag {
			t.Fatalf("stat %d: %+v %v", size, st, err)
		}
	}
	// A larger object, signed chunk by chunk (aws-chunked framing).
	data := bytes.Repeat([]byte("stream"), 300_000)
	if _, err := mc.PutObject(ctx, "photos", "streamed", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put: %v", err)
	}
	if got := readObject(t, mc, "photos", "streamed"); sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatal("streamed object differs")
	}
	if err := mc.RemoveBucket(ctx, "photos"); minio.ToErrorResponse(err).Code != "BucketNotEmpty" {
		t.Fatalf("remove non-empty bucket: %v", err)
	}
	if _, err := mc.StatObject(ctx, "photos", "nope", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("stat missing: %v", err)
	}
	if _, err := mc.StatObject(ctx, "nobucket", "nope", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchBucket" {
		t.Fatalf("stat in missing bucket: %v", err)
	}
}

func readObject(t *testing.T, mc *minio.Client, bucket, key string) []byte {
	t.Helper()
	obj, err := mc.GetObject(ctxT(t, time.Minute), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("read %s/%s: %v", bucket, key, err)
	}
	return b
}

func TestS3RangesAndConditions(t *testing.T) {
	_, mc, _ := startS3(t)
	ctx := ctxT(t, time.Minute)
	mc.MakeBucket(ctx, "ranges", minio.MakeBucketOptions{})
	data := make([]byte, 600<<10)
	for i := range data {
		data[i] = byte(i % 251)
	}
	info, err := mc.PutObject(ctx, "ranges", "r", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		set        func(*minio.GetObjectOptions) error
		start, end int
	}{
		{func(o *minio.GetObjectOptions) error { return o.SetRange(10, 20) }, 10, 21},
		{func(o *minio.GetObjectOptions) error { return o.SetRange(256<<10-3, 256<<10+3) }, 256<<10 - 3, 256<<10 + 4},
		{func(o *minio.GetObjectOptions) error { return o.SetRange(500<<10, 0) }, 500 << 10, len(data)},
		{func(o *minio.GetObjectOptions) error { return o.SetRange(0, -100) }, len(data) - 100, len(data)},
	}
	for i, tc := range cases {
		var o minio.GetObjectOptions
		tc.set(&o)
		obj, err := mc.GetObject(ctx, "ranges", "r", o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(obj)
		if err != nil || !bytes.Equal(got, data[tc.start:tc.end]) {
			t.Fatalf("range %d: %d bytes, %v", i, len(got), err)
		}
	}
	var o minio.GetObjectOptions
	o.SetRange(int64(len(data)), int64(len(data))+10)
	obj, _ := mc.GetObject(ctx, "ranges", "r", o)
	if _, err := io.ReadAll(obj); minio.ToErrorResponse(err).Code != "InvalidRange" {
		t.Fatalf("unsatisfiable range: %v", err)
	}
	o = minio.GetObjectOptions{}
	o.SetMatchETag("wrong")
	obj, _ = mc.GetObject(ctx, "ranges", "r", o)
	if _, err := io.ReadAll(obj); minio.ToErrorResponse(err).Code != "PreconditionFailed" {
		t.Fatalf("If-Match wrong: %v", err)
	}
	o = minio.GetObjectOptions{}
	o.SetMatchETag(info.ETag)
	if got := readWith(t, mc, o); !bytes.Equal(got, data) {
		t.Fatal("If-Match right")
	}
	o = minio.GetObjectOptions{}
	o.SetModified(time.Now().Add(time.Hour))
	obj, _ = mc.GetObject(ctx, "ranges", "r", o)
	if _, err := io.ReadAll(obj); err == nil || !strings.Contains(err.Error()+minio.ToErrorResponse(err).Code, "304") && minio.ToErrorResponse(err).StatusCode != 304 {
		t.Fatalf("If-Modified-Since in the future: %v", err)
	}
}

func readWith(t *testing.T, mc *minio.Client, o minio.GetObjectOptions) []byte {
	obj, err := mc.GetObject(ctxT(t, time.Minute), "ranges", "r", o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestS3ListingAndDeletes(t *testing.T) {
	_, mc, _ := startS3(t)
	ctx := ctxT(t, 3*time.Minute)
	mc.MakeBucket(ctx, "list", minio.MakeBucketOptions{})
	awkward := []string{"a b", "plus+sign", "per%cent", "hash#tag", "question?mark", "emoji-🙂", "a//b", "trailing/", "dir/x", "dir/y", "dir/sub/z", "ünïcödé"}
	for _, k := range awkward {
		if _, err := mc.PutObject(ctx, "list", k, strings.NewReader(k), int64(len(k)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
		if got := readObject(t, mc, "list", k); string(got) != k {
			t.Fatalf("%q read back %q", k, got)
		}
	}
	for i := range 1100 {
		k := fmt.Sprintf("many/%05d", i)
		if _, err := mc.PutObject(ctx, "list", k, strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, v1 := range []bool{false, true} {
		var keys []string
		for o := range mc.ListObjects(ctx, "list", minio.ListObjectsOptions{Recursive: true, UseV1: v1}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			keys = append(keys, o.Key)
		}
		if len(keys) != len(awkward)+1100 || !slices.IsSorted(keys) {
			t.Fatalf("v1=%v: listed %d keys (sorted %v), want %d", v1, len(keys), slices.IsSorted(keys), len(awkward)+1100)
		}
	}
	var top []string
	for o := range mc.ListObjects(ctx, "list", minio.ListObjectsOptions{Prefix: "dir/"}) {
		top = append(top, o.Key)
	}
	slices.Sort(top) // minio-go yields a page's objects before its prefixes
	if !slices.Equal(top, []string{"dir/sub/", "dir/x", "dir/y"}) {
		t.Fatalf("delimited listing: %q", top)
	}
	var after []string
	for o := range mc.ListObjects(ctx, "list", minio.ListObjectsOptions{Prefix: "many/", StartAfter: "many/01095", Recursive: true}) {
		after = append(after, o.Key)
	}
	if !slices.Equal(after, []string{"many/01096", "many/01097", "many/01098", "many/01099"}) {
		t.Fatalf("start-after: %q", after)
	}
	// DeleteObjects over the 1100 keys.
	objs := make(chan minio.ObjectInfo)
	go func() {
		defer close(objs)
		for i := range 1100 {
			objs <- minio.ObjectInfo{Key: fmt.Sprintf("many/%05d", i)}
		}
	}()
	for e := range mc.RemoveObjects(ctx, "list", objs, minio.RemoveObjectsOptions{}) {
		t.Fatalf("remove %s: %v", e.ObjectName, e.Err)
	}
	for _, k := range awkward {
		if err := mc.RemoveObject(ctx, "list", k, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for range mc.ListObjects(ctx, "list", minio.ListObjectsOptions{Recursive: true}) {
		n++
	}
	if n != 0 {
		t.Fatalf("%d keys left after deletes", n)
	}
	if err := mc.RemoveBucket(ctx, "list"); err != nil {
		t.Fatal(err)
	}
	_ = errors.New
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return fmt.Sprintf("%x", s[:])
}
