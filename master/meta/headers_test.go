package meta

import (
	"errors"
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

var testHeaders = proto.ObjectHeaders{
	CacheControl: "max-age=60", ContentDisposition: `attachment; filename="a.txt"`, ContentEncoding: "gzip",
	ContentLanguage: "de", Expires: "Thu, 01 Dec 2094 16:00:00 GMT", StorageClass: "STANDARD_IA",
	WebsiteRedirect: "/other", ChecksumAlgorithm: proto.ChecksumSHA256, ChecksumType: proto.ChecksumFullObject,
	Checksum: "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
}

func TestHeadersAreStoredRenamedAndCompleted(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	obj := inlineObj("a", "x")
	obj.ObjectHeaders = testHeaders
	tf.mustApply(OpPutObject, PutObject{Object: obj})
	tf.mustApply(OpRenameObject, RenameObject{Bucket: "bk1", From: "a", To: "b"})
	if o, err := tf.f.Object("bk1", "b"); err != nil || o.ObjectHeaders != testHeaders {
		t.Fatalf("renamed object's headers: %+v %v", o, err)
	}
	// Multipart: the upload's headers and checksum kind, the completion's
	// checksum value, the parts' checksums.
	up := testHeaders
	up.ChecksumType, up.Checksum = proto.ChecksumComposite, ""
	tf.mustApply(OpCreateUpload, CreateUpload{Upload: proto.Upload{ID: "up1", Bucket: "bk1", Key: "big", ObjectHeaders: up}})
	first := tf.mustApply(OpAllocChunks, AllocChunks{Count: 1}).(proto.ChunkID)
	tf.mustApply(OpPutPart, PutPart{Bucket: "bk1", UploadID: "up1", Part: proto.Part{
		Number: 1, ETag: "aa", Size: 3, Checksum: "partsum=", Extents: []proto.Extent{{Chunk: first, Length: 3}}}})
	if _, err := tf.apply(OpPutPart, PutPart{Bucket: "bk1", UploadID: "up1", Part: proto.Part{
		Number: 2, ETag: "bb", Size: 0, Checksum: string(make([]byte, proto.MaxChecksumLen+1))}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("oversized part checksum: %v", err)
	}
	o := tf.mustApply(OpCompleteUpload, CompleteUpload{Req: proto.CompleteRequest{Bucket: "bk1", UploadID: "up1",
		Parts: []proto.CompletePart{{Number: 1, ETag: "aa"}}, Checksum: "sum-1"}}).(proto.Object)
	want := up
	want.Checksum = "sum-1"
	stored, err := tf.f.Object("bk1", "big")
	if err != nil || o.ObjectHeaders != want || stored.ObjectHeaders != want {
		t.Fatalf("completed object's headers:\n got %+v\n and %+v (%v)\nwant %+v", o.ObjectHeaders, stored, err, want)
	}
}

func TestBadHeadersAreRefused(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	for name, c := range map[string]struct {
		h    proto.ObjectHeaders
		want error
	}{
		"algorithm":         {proto.ObjectHeaders{ChecksumAlgorithm: "XXHASH64"}, ErrInvalid},
		"type":              {proto.ObjectHeaders{ChecksumType: "PARTIAL"}, ErrInvalid},
		"value alone":       {proto.ObjectHeaders{Checksum: "AAAA"}, ErrInvalid},
		"too large":         {proto.ObjectHeaders{ContentDisposition: string(make([]byte, proto.MaxObjectHeaders+1))}, ErrTooLarge},
		"checksum too long": {proto.ObjectHeaders{ChecksumAlgorithm: proto.ChecksumCRC32, Checksum: string(make([]byte, proto.MaxChecksumLen+1))}, ErrInvalid},
	} {
		t.Log(name)
		obj := inlineObj("k", "x")
		obj.ObjectHeaders = c.h
		tf.refused(OpPutObject, PutObject{Object: obj}, c.want)
	}
}
