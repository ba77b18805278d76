package client_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
)

// TestHeadersRoundTrip stores every S3 header through Put and through a
// multipart upload and reads them back with Stat, after a rename too.
func TestHeadersRoundTrip(t *testing.T) {
	_, cl := startData(t, 1)
	ctx := ctxT(t, 30*time.Second)
	h := proto.ObjectHeaders{
		CacheControl: "no-cache", ContentDisposition: `inline; filename="x.bin"`, ContentEncoding: "br",
		ContentLanguage: "en-GB", Expires: "not a date", StorageClass: "GLACIER_IR", WebsiteRedirect: "https://example.com/",
		ChecksumAlgorithm: proto.ChecksumCRC32C, ChecksumType: proto.ChecksumFullObject,
	}
	opts := &client.PutOptions{ContentType: "application/x-test", ObjectHeaders: h,
		BeforeCommit: func(obj *proto.Object) error { obj.Checksum = "yZRlqg=="; return nil }} // known only after the body
	data := payload(testChunk+1, 7) // chunked, not inline
	if _, err := cl.Put(ctx, "data", "a", bytes.NewReader(data), int64(len(data)), opts); err != nil {
		t.Fatal(err)
	}
	want := h
	want.Checksum = "yZRlqg=="
	if err := cl.Rename(ctx, "data", "a", "b"); err != nil {
		t.Fatal(err)
	}
	if st, err := cl.Stat(ctx, "data", "b"); err != nil || st.ObjectHeaders != want || st.ContentType != "application/x-test" {
		t.Fatalf("stat after put and rename:\n got %+v (%v)\nwant %+v", st.ObjectHeaders, err, want)
	}

	up := h
	up.ChecksumType = proto.ChecksumComposite
	u, err := cl.CreateUpload(ctx, "data", "m", &client.PutOptions{ObjectHeaders: up})
	if err != nil || u.ObjectHeaders != up {
		t.Fatalf("create upload: %+v %v", u, err)
	}
	p1, err := cl.PutPart(ctx, "data", u.ID, 1, bytes.NewReader(make([]byte, proto.MinPartSize)), proto.MinPartSize,
		&client.PutOptions{ObjectHeaders: proto.ObjectHeaders{Checksum: "one="}})
	if err != nil || p1.Checksum != "one=" {
		t.Fatalf("part 1: %+v %v", p1, err)
	}
	p2, err := cl.PutPart(ctx, "data", u.ID, 2, bytes.NewReader([]byte("tail")), 4,
		&client.PutOptions{BeforeCommit: func(o *proto.Object) error { o.Checksum = "two="; return nil }})
	if err != nil || p2.Checksum != "two=" {
		t.Fatalf("part 2: %+v %v", p2, err)
	}
	_, listed, err := cl.ListParts(ctx, "data", u.ID)
	if err != nil || len(listed) != 2 || listed[0].Checksum != "one=" || listed[1].Checksum != "two=" {
		t.Fatalf("list parts: %+v %v", listed, err)
	}
	parts := []proto.CompletePart{{Number: 1, ETag: p1.ETag}, {Number: 2, ETag: p2.ETag}}
	if _, err := cl.CompleteUploadIf(ctx, "data", u.ID, parts, &client.CompleteOptions{Checksum: "both=-2"}); err != nil {
		t.Fatal(err)
	}
	want = up
	want.Checksum = "both=-2"
	st, err := cl.Stat(ctx, "data", "m")
	if err != nil || st.ObjectHeaders != want || st.Size != proto.MinPartSize+4 {
		t.Fatalf("stat after completion:\n got %+v (%v)\nwant %+v", st.ObjectHeaders, err, want)
	}
	res, err := cl.List(ctx, proto.ListRequest{Bucket: "data"})
	if err != nil || len(res.Objects) != 2 || res.Objects[1].ObjectHeaders != want {
		t.Fatalf("list: %+v %v", res, err)
	}
}
