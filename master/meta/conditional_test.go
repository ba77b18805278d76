package meta

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// refused applies a command that must fail with want and leave the state
// (but the applied index) exactly as it was.
func (tf *testFSM) refused(o Op, payload any, want error) {
	tf.t.Helper()
	before := dumpState(tf.t, tf.f)
	if _, err := tf.apply(o, payload); !errors.Is(err, want) {
		tf.t.Fatalf("%v %+v: %v, want %v", o, payload, err, want)
	}
	after := dumpState(tf.t, tf.f)
	delete(before, "m/applied")
	delete(after, "m/applied")
	if fmt.Sprint(before) != fmt.Sprint(after) {
		tf.t.Fatalf("refused %v changed the state", o)
	}
}

func inlineObj(key, data string) proto.Object {
	return proto.Object{Bucket: "bk1", Key: key, Size: int64(len(data)), Inline: []byte(data), ETag: "e-" + data}
}

func TestConditionalPutIsCompareAndSet(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	tf.refused(OpPutObject, PutObject{Object: inlineObj("k", "a"), IfETag: "e-x"}, ErrNoSuchKey)
	tf.mustApply(OpPutObject, PutObject{Object: inlineObj("k", "a"), IfVersion: proto.MustNotExist})
	tf.refused(OpPutObject, PutObject{Object: inlineObj("k", "b"), IfVersion: proto.MustNotExist}, ErrPrecondition)
	tf.refused(OpPutObject, PutObject{Object: inlineObj("k", "b"), IfETag: "e-x"}, ErrPrecondition)
	tf.mustApply(OpPutObject, PutObject{Object: inlineObj("k", "b"), IfETag: `"e-a"`}) // quotes ignored
	// Two writers that both read e-b: only the first wins.
	tf.mustApply(OpPutObject, PutObject{Object: inlineObj("k", "c"), IfETag: "e-b"})
	tf.refused(OpPutObject, PutObject{Object: inlineObj("k", "d"), IfETag: "e-b"}, ErrPrecondition)
	if o, err := tf.f.Object("bk1", "k"); err != nil || string(o.Inline) != "c" {
		t.Fatalf("after the race: %+v %v", o, err)
	}
}

func TestConditionalDelete(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	obj := inlineObj("k", "abc")
	obj.Modified = time.Date(2025, 3, 4, 5, 6, 7, 890e6, time.UTC)
	tf.mustApply(OpPutObject, PutObject{Object: obj})
	size, wrongSize := int64(3), int64(4)
	sameSecond, nextSecond := obj.Modified.Truncate(time.Second), obj.Modified.Add(time.Second)
	tf.refused(OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "k", IfETag: "e-x"}, ErrPrecondition)
	tf.refused(OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "k", IfSize: &wrongSize}, ErrPrecondition)
	tf.refused(OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "k", IfModified: &nextSecond}, ErrPrecondition)
	tf.refused(OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "k", IfETag: "e-abc", IfSize: &size, IfModified: &nextSecond}, ErrPrecondition)
	tf.refused(OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "missing", IfETag: "e-abc"}, ErrNoSuchKey)
	tf.mustApply(OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "k", IfETag: `"e-abc"`, IfSize: &size, IfModified: &sameSecond})
	if _, err := tf.f.Object("bk1", "k"); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("after a conditional delete: %v", err)
	}
}

func TestConditionalComplete(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	first := tf.mustApply(OpAllocChunks, AllocChunks{Count: 1}).(proto.ChunkID)
	tf.mustApply(OpCreateUpload, CreateUpload{Upload: proto.Upload{ID: "up1", Bucket: "bk1", Key: "k"}})
	tf.mustApply(OpPutPart, PutPart{Bucket: "bk1", UploadID: "up1", Part: proto.Part{
		Number: 1, ETag: "aa", Size: 3, Extents: []proto.Extent{{Chunk: first, Length: 3}}}})
	complete := func(ifETag string, ifNoneMatch bool) CompleteUpload {
		return CompleteUpload{Req: proto.CompleteRequest{Bucket: "bk1", UploadID: "up1",
			Parts: []proto.CompletePart{{Number: 1, ETag: "aa"}}, IfETag: ifETag, IfNoneMatch: ifNoneMatch}}
	}
	tf.refused(OpCompleteUpload, complete("e-old", false), ErrNoSuchKey)
	tf.mustApply(OpPutObject, PutObject{Object: inlineObj("k", "old")})
	tf.refused(OpCompleteUpload, complete("", true), ErrPrecondition)
	tf.refused(OpCompleteUpload, complete("e-other", false), ErrPrecondition)
	obj := tf.mustApply(OpCompleteUpload, complete(`"e-old"`, false)).(proto.Object)
	if obj.Size != 3 || obj.Extents[0].Chunk != first {
		t.Fatalf("completed object %+v", obj)
	}
	// Create-only completion when nothing is there.
	tf.mustApply(OpCreateUpload, CreateUpload{Upload: proto.Upload{ID: "up2", Bucket: "bk1", Key: "fresh"}})
	next := tf.mustApply(OpAllocChunks, AllocChunks{Count: 1}).(proto.ChunkID)
	tf.mustApply(OpPutPart, PutPart{Bucket: "bk1", UploadID: "up2", Part: proto.Part{
		Number: 1, ETag: "bb", Size: 2, Extents: []proto.Extent{{Chunk: next, Length: 2}}}})
	tf.mustApply(OpCompleteUpload, CompleteUpload{Req: proto.CompleteRequest{Bucket: "bk1", UploadID: "up2",
		Parts: []proto.CompletePart{{Number: 1, ETag: "bb"}}, IfNoneMatch: true}})
}

// Log entries written before the conditions and the stored headers existed
// decode to commands without them, and commands without them encode to the
// same bytes as before, so old and new members apply old entries
// identically.
func TestConditionsKeepOldEntriesIdentical(t *testing.T) {
	golden := []struct {
		json string
		cmd  any
	}{
		{`{"object":{"bucket":"b","key":"k","size":1,"etag":"e","modified":"2025-01-02T03:04:05.006Z","version":0,"inline":"eA=="},"ifVersion":7}`,
			&PutObject{Object: proto.Object{Bucket: "b", Key: "k", Size: 1, ETag: "e", Modified: time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC), Inline: []byte("x")}, IfVersion: 7}},
		{`{"bucket":"b","key":"k"}`, &DeleteObject{Bucket: "b", Key: "k"}},
		{`{"req":{"bucket":"b","uploadId":"u","parts":[{"number":1,"etag":"aa"}]},"object":{"bucket":"","key":"","size":0,"modified":"2025-01-02T03:04:05Z","version":0}}`,
			&CompleteUpload{Req: proto.CompleteRequest{Bucket: "b", UploadID: "u", Parts: []proto.CompletePart{{Number: 1, ETag: "aa"}}},
				Object: proto.Object{Modified: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}}},
		{`{"upload":{"id":"u","bucket":"b","key":"k","created":"2025-01-02T03:04:05Z","contentType":"t"}}`,
			&CreateUpload{Upload: proto.Upload{ID: "u", Bucket: "b", Key: "k", Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), ContentType: "t"}}},
		{`{"bucket":"b","uploadId":"u","part":{"number":1,"etag":"aa","size":1,"modified":"2025-01-02T03:04:05Z","extents":[{"chunk":4,"offset":0,"length":1}]}}`,
			&PutPart{Bucket: "b", UploadID: "u", Part: proto.Part{Number: 1, ETag: "aa", Size: 1, Modified: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
				Extents: []proto.Extent{{Chunk: 4, Length: 1}}}}},
	}
	for _, g := range golden {
		enc, err := json.Marshal(g.cmd)
		if err != nil || string(enc) != g.json {
			t.Errorf("encode %T:\n got %s\nwant %s (%v)", g.cmd, enc, g.json, err)
		}
		fresh := newOf(g.cmd)
		if err := json.Unmarshal([]byte(g.json), fresh); err != nil || fmt.Sprintf("%+v", fresh) != fmt.Sprintf("%+v", g.cmd) {
			t.Errorf("decode %s:\n got %+v\nwant %+v (%v)", g.json, fresh, g.cmd, err)
		}
	}
	// And an old delete entry applies unconditionally.
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	tf.mustApply(OpPutObject, PutObject{Object: inlineObj("k", "x")})
	if _, err := tf.applyRaw(append([]byte{cmdVersion1, byte(OpDeleteObject)}, `{"bucket":"bk1","key":"k"}`...)); err != nil {
		t.Fatalf("old delete entry: %v", err)
	}
}

func newOf(v any) any {
	switch v.(type) {
	case *PutObject:
		return new(PutObject)
	case *DeleteObject:
		return new(DeleteObject)
	case *CompleteUpload:
		return new(CompleteUpload)
	case *CreateUpload:
		return new(CreateUpload)
	case *PutPart:
		return new(PutPart)
	}
	panic(fmt.Sprintf("newOf %T", v))
}
