package gateway_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

func TestS3CopyAndCompose(t *testing.T) {
	_, mc, _ := startS3(t)
	ctx := ctxT(t, 3*time.Minute)
	mc.MakeBucket(ctx, "src", minio.MakeBucketOptions{})
	mc.MakeBucket(ctx, "dst", minio.MakeBucketOptions{})
	data := bytes.Repeat([]byte("0123456789"), 700_000) // 7 MB, several chunks
	if _, err := mc.PutObject(ctx, "src", "orig", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
		ContentType: "text/x-orig", UserMetadata: map[string]string{"color": "blue"}}); err != nil {
		t.Fatal(err)
	}
	// COPY (default): bytes and metadata follow.
	if _, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: "dst", Object: "copy"}, minio.CopySrcOptions{Bucket: "src", Object: "orig"}); err != nil {
		t.Fatal(err)
	}
	st, err := mc.StatObject(ctx, "dst", "copy", minio.StatObjectOptions{})
	if err != nil || st.ContentType != "text/x-orig" || st.UserMetadata["Color"] != "blue" || st.Size != int64(len(data)) {
		t.Fatalf("copied object: %+v %v", st, err)
	}
	if !bytes.Equal(readObject(t, mc, "dst", "copy"), data) {
		t.Fatal("copied bytes differ")
	}
	// REPLACE: new metadata, same bytes; also allowed onto itself.
	if _, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: "src", Object: "orig", ReplaceMetadata: true,
		UserMetadata: map[string]string{"color": "red", "Content-Type": "text/x-new"}}, minio.CopySrcOptions{Bucket: "src", Object: "orig"}); err != nil {
		t.Fatal(err)
	}
	st, err = mc.StatObject(ctx, "src", "orig", minio.StatObjectOptions{})
	if err != nil || st.UserMetadata["Color"] != "red" {
		t.Fatalf("replaced metadata: %+v %v", st.UserMetadata, err)
	}
	// Copy onto itself without changes is refused, as S3 does.
	_, err = mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: "src", Object: "orig"}, minio.CopySrcOptions{Bucket: "src", Object: "orig"})
	if code := minio.ToErrorResponse(err).Code; code != "InvalidRequest" {
		t.Fatalf("copy onto itself: %v", err)
	}
	// A failed copy condition.
	_, err = mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: "dst", Object: "cond"}, minio.CopySrcOptions{Bucket: "src", Object: "orig", MatchETag: "nope"})
	if code := minio.ToErrorResponse(err).Code; code != "PreconditionFailed" {
		t.Fatalf("copy with a failing condition: %v", err)
	}
	// ComposeObject uses multipart UploadPartCopy with source ranges.
	srcs := []minio.CopySrcOptions{
		{Bucket: "src", Object: "orig", MatchRange: true, Start: 0, End: 5<<20 - 1},
		{Bucket: "dst", Object: "copy", MatchRange: true, Start: 100, End: 199},
	}
	if _, err := mc.ComposeObject(ctx, minio.CopyDestOptions{Bucket: "dst", Object: "composed"}, srcs...); err != nil {
		t.Fatalf("compose: %v", err)
	}
	want := append(append([]byte{}, data[:5<<20]...), data[100:200]...)
	if got := readObject(t, mc, "dst", "composed"); !bytes.Equal(got, want) {
		t.Fatalf("composed object: %d bytes, want %d", len(got), len(want))
	}
	if _, err := mc.CopyObject(ctx, minio.CopyDestOptions{Bucket: "dst", Object: "x"}, minio.CopySrcOptions{Bucket: "src", Object: "missing"}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("copy of a missing source: %v", err)
	}
}
