package gateway_test

import (
	"bytes"
	"crypto/sha256"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

func TestS3Multipart(t *testing.T) {
	_, mc, _ := startS3(t)
	ctx := ctxT(t, 3*time.Minute)
	if err := mc.MakeBucket(ctx, "multi", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	// Real 5 MiB parts: 12 MiB + 7 bytes is three parts.
	data := make([]byte, 12<<20+7)
	for i := range data {
		data[i] = byte(i*7 + i>>13)
	}
	info, err := mc.PutObject(ctx, "multi", "big", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{PartSize: 5 << 20})
	if err != nil {
		t.Fatalf("multipart put: %v", err)
	}
	if !strings.HasSuffix(info.ETag, "-3") {
		t.Errorf("multipart ETag %q, want the -3 suffix", info.ETag)
	}
	if got := readObject(t, mc, "multi", "big"); sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatal("multipart object differs")
	}
	// Unknown size: minio-go uploads parts as the stream arrives.
	if _, err := mc.PutObject(ctx, "multi", "stream", io.MultiReader(bytes.NewReader(data)), -1, minio.PutObjectOptions{PartSize: 5 << 20}); err != nil {
		t.Fatalf("put of unknown size: %v", err)
	}
	if got := readObject(t, mc, "multi", "stream"); sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatal("streamed multipart object differs")
	}

	core := minio.Core{Client: mc}
	id, err := core.NewMultipartUpload(ctx, "multi", "manual", minio.PutObjectOptions{ContentType: "text/x-parts"})
	if err != nil {
		t.Fatal(err)
	}
	small, err := core.PutObjectPart(ctx, "multi", "manual", id, 1, bytes.NewReader([]byte("too small")), 9, minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	last, err := core.PutObjectPart(ctx, "multi", "manual", id, 2, bytes.NewReader([]byte("end")), 3, minio.PutObjectPartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	parts, err := core.ListObjectParts(ctx, "multi", "manual", id, 0, 100)
	if err != nil || len(parts.ObjectParts) != 2 || parts.ObjectParts[0].Size != 9 {
		t.Fatalf("list parts: %+v %v", parts, err)
	}
	uploads, err := core.ListMultipartUploads(ctx, "multi", "", "", "", "", 100)
	if err != nil || len(uploads.Uploads) != 1 || uploads.Uploads[0].UploadID != id {
		t.Fatalf("list uploads: %+v %v", uploads, err)
	}
	cp := func(n int, etag string) minio.CompletePart { return minio.CompletePart{PartNumber: n, ETag: etag} }
	_, err = core.CompleteMultipartUpload(ctx, "multi", "manual", id, []minio.CompletePart{cp(1, small.ETag), cp(2, last.ETag)}, minio.PutObjectOptions{})
	if code := minio.ToErrorResponse(err).Code; code != "EntityTooSmall" {
		t.Fatalf("complete with a small middle part: %v", err)
	}
	_, err = core.CompleteMultipartUpload(ctx, "multi", "manual", id, []minio.CompletePart{cp(2, "\"0000\"")}, minio.PutObjectOptions{})
	if code := minio.ToErrorResponse(err).Code; code != "InvalidPart" {
		t.Fatalf("complete with a wrong ETag: %v", err)
	}
	_, err = core.CompleteMultipartUpload(ctx, "multi", "manual", id, []minio.CompletePart{cp(2, last.ETag), cp(1, small.ETag)}, minio.PutObjectOptions{})
	if code := minio.ToErrorResponse(err).Code; code != "InvalidPartOrder" {
		t.Fatalf("complete out of order: %v", err)
	}
	// A single small part is a valid (last) part.
	if _, err := core.CompleteMultipartUpload(ctx, "multi", "manual", id, []minio.CompletePart{cp(1, small.ETag)}, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("complete with one part: %v", err)
	}
	st, err := mc.StatObject(ctx, "multi", "manual", minio.StatObjectOptions{})
	if err != nil || st.Size != 9 || st.ContentType != "text/x-parts" {
		t.Fatalf("completed object: %+v %v", st, err)
	}
	if _, err := core.PutObjectPart(ctx, "multi", "manual", id, 3, bytes.NewReader([]byte("x")), 1, minio.PutObjectPartOptions{}); minio.ToErrorResponse(err).Code != "NoSuchUpload" {
		t.Fatalf("part for a completed upload: %v", err)
	}
	// Abort frees an upload; the bucket can then be emptied and removed.
	id2, _ := core.NewMultipartUpload(ctx, "multi", "aborted", minio.PutObjectOptions{})
	core.PutObjectPart(ctx, "multi", "aborted", id2, 1, bytes.NewReader(data[:1<<20]), 1<<20, minio.PutObjectPartOptions{})
	if err := mc.RemoveBucket(ctx, "multi"); minio.ToErrorResponse(err).Code != "BucketNotEmpty" {
		t.Fatalf("remove bucket with objects and an upload: %v", err)
	}
	if err := core.AbortMultipartUpload(ctx, "multi", "aborted", id2); err != nil {
		t.Fatal(err)
	}
	if err := core.AbortMultipartUpload(ctx, "multi", "aborted", id2); minio.ToErrorResponse(err).Code != "NoSuchUpload" {
		t.Fatalf("second abort: %v", err)
	}
	for _, k := range []string{"big", "stream", "manual"} {
		mc.RemoveObject(ctx, "multi", k, minio.RemoveObjectOptions{})
	}
	if err := mc.RemoveBucket(ctx, "multi"); err != nil {
		t.Fatal(err)
	}
}
