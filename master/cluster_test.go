package master_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
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

var _ = errors.Is
var _ = fmt.Sprint
var _ sync.Mutex
var _ atomic.Int64
