package meta

import (
	"bytes"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/granary-store/granary/internal/proto"
)

// A completed multipart object remembers the parts it was completed with,
// in order, with their sizes and checksums; listings leave them out, a
// rename keeps them and an overwrite by a put drops them.
func TestCompletedObjectKeepsItsParts(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	first := tf.mustApply(OpAllocChunks, AllocChunks{Count: 4}).(proto.ChunkID)
	tf.mustApply(OpCreateUpload, CreateUpload{Upload: proto.Upload{ID: "up1", Bucket: "bk1", Key: "big",
		ObjectHeaders: proto.ObjectHeaders{ChecksumAlgorithm: proto.ChecksumCRC32, ChecksumType: proto.ChecksumComposite}}})
	part := func(n int, chunk proto.ChunkID, size int64, sum string) {
		tf.mustApply(OpPutPart, PutPart{Bucket: "bk1", UploadID: "up1", Part: proto.Part{
			Number: n, ETag: fmt.Sprintf("%032x", n), Size: size, Checksum: sum,
			Extents: []proto.Extent{{Chunk: chunk, Length: size}}}})
	}
	part(1, first, proto.MinPartSize+1, "AAAAAQ==")
	part(2, first+1, 9, "AAAAAg==") // uploaded, not completed
	part(3, first+2, proto.MinPartSize+3, "AAAAAw==")
	part(5, first+3, 7, "AAAABQ==")
	named := []proto.CompletePart{{Number: 1, ETag: fmt.Sprintf("%032x", 1)}, {Number: 3, ETag: fmt.Sprintf("%032x", 3)}, {Number: 5, ETag: fmt.Sprintf("%032x", 5)}}
	obj := tf.mustApply(OpCompleteUpload, CompleteUpload{Req: proto.CompleteRequest{Bucket: "bk1", UploadID: "up1",
		Parts: named, Checksum: "AAAAAA==-3"}}).(proto.Object)
	want := []proto.ObjectPart{
		{Number: 1, Size: proto.MinPartSize + 1, Checksum: "AAAAAQ=="},
		{Number: 3, Size: proto.MinPartSize + 3, Checksum: "AAAAAw=="},
		{Number: 5, Size: 7, Checksum: "AAAABQ=="},
	}
	if !reflect.DeepEqual(obj.Parts, want) {
		t.Fatalf("completion answered parts %+v, want %+v", obj.Parts, want)
	}
	stored := mustParts(t, tf, "big", want)
	var off int64
	for i, p := range stored.Parts { // part i starts at the sum of the sizes before it
		if stored.Extents[i].Offset != off {
			t.Fatalf("part %d at offset %d, its extent at %d", p.Number, off, stored.Extents[i].Offset)
		}
		off += p.Size
	}
	if off != stored.Size {
		t.Fatalf("parts add up to %d bytes of %d", off, stored.Size)
	}

	res, err := tf.f.List(proto.ListRequest{Bucket: "bk1"})
	if err != nil || len(res.Objects) != 1 || res.Objects[0].Parts != nil || len(res.Objects[0].Extents) != 3 {
		t.Fatalf("listing: %+v %v, want one entry without parts", res, err)
	}

	tf.mustApply(OpRenameObject, RenameObject{Bucket: "bk1", From: "big", To: "moved"})
	mustParts(t, tf, "moved", want)

	tf.mustApply(OpPutObject, PutObject{Object: inlineObj("moved", "x")})
	mustParts(t, tf, "moved", nil)

	// A commit cannot claim parts: only a completion sets them.
	withParts := inlineObj("moved", "y")
	withParts.Parts = []proto.ObjectPart{{Number: 1, Size: 1}}
	tf.refused(OpPutObject, PutObject{Object: withParts}, ErrInvalid)
}

// mustParts checks the stored record of key in bk1 has parts want.
func mustParts(t *testing.T, tf *testFSM, key string, want []proto.ObjectPart) *proto.Object {
	t.Helper()
	o, err := tf.f.Object("bk1", key)
	if err != nil {
		t.Fatalf("stored %s: %v", key, err)
	}
	if !reflect.DeepEqual(o.Parts, want) {
		t.Fatalf("stored %s: parts %+v, want %+v", key, o.Parts, want)
	}
	return o
}

// S3's largest upload, 10,000 parts with checksums of the longest length
// allowed, completes, is read back whole, and survives a snapshot.
func TestTenThousandPartsFit(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	first := tf.mustApply(OpAllocChunks, AllocChunks{Count: proto.MaxPartNumber}).(proto.ChunkID)
	tf.mustApply(OpCreateUpload, CreateUpload{Upload: proto.Upload{ID: "up1", Bucket: "bk1", Key: "huge",
		ObjectHeaders: proto.ObjectHeaders{ChecksumAlgorithm: proto.ChecksumSHA256, ChecksumType: proto.ChecksumComposite}}})
	sum := strings.Repeat("s", proto.MaxChecksumLen)
	var logs []*raft.Log
	named := make([]proto.CompletePart, proto.MaxPartNumber)
	for n := 1; n <= proto.MaxPartNumber; n++ {
		etag := fmt.Sprintf("%032x", n)
		data, err := EncodeCommand(OpPutPart, PutPart{Bucket: "bk1", UploadID: "up1", Part: proto.Part{
			Number: n, ETag: etag, Size: proto.MinPartSize, Checksum: sum,
			Extents: []proto.Extent{{Chunk: first + proto.ChunkID(n-1), Length: proto.MinPartSize}}}})
		if err != nil {
			t.Fatal(err)
		}
		tf.index++
		logs = append(logs, &raft.Log{Index: tf.index, Type: raft.LogCommand, Data: data})
		named[n-1] = proto.CompletePart{Number: n, ETag: etag}
	}
	for i, out := range tf.f.ApplyBatch(logs) {
		if r, ok := out.(Result); !ok || r.Err != nil {
			t.Fatalf("part %d: %v", i+1, out)
		}
	}
	cmd, err := EncodeCommand(OpCompleteUpload, CompleteUpload{Req: proto.CompleteRequest{Bucket: "bk1", UploadID: "up1", Parts: named}})
	if err != nil || len(cmd) > proto.MaxRequestBytes {
		t.Fatalf("completion command of %d bytes (%v), limit %d", len(cmd), err, proto.MaxRequestBytes)
	}
	if _, err := tf.applyRaw(cmd); err != nil {
		t.Fatal(err)
	}
	o, err := tf.f.Object("bk1", "huge")
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Parts) != proto.MaxPartNumber || o.Parts[proto.MaxPartNumber-1] != (proto.ObjectPart{Number: proto.MaxPartNumber, Size: proto.MinPartSize, Checksum: sum}) {
		t.Fatalf("stored record: %d parts", len(o.Parts))
	}
	rec, _ := encodeValue(o)
	t.Logf("record of %d parts and %d extents: %d bytes", len(o.Parts), len(o.Extents), len(rec))

	dst := newTestFSM(t)
	if err := dst.f.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, tf.f)))); err != nil {
		t.Fatal(err)
	}
	back, err := dst.f.Object("bk1", "huge")
	if err != nil || !reflect.DeepEqual(back.Parts, o.Parts) {
		t.Fatalf("restored record: %+v", err)
	}
}
