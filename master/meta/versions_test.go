package meta

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

// versionNames lists a key's versions as ListVersions reports them:
// "id" or "id*" for the latest, "dm:" before delete markers.
func versionNames(t *testing.T, f *FSM, bucket, key string) []string {
	t.Helper()
	res, err := f.ListVersions(proto.VersionsRequest{Bucket: bucket, Prefix: key})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range res.Versions {
		if v.Key != key {
			continue
		}
		s := v.VersionName()
		if v.DeleteMarker {
			s = "dm:" + s
		}
		if v.IsLatest {
			s += "*"
		}
		out = append(out, s)
	}
	return out
}

func counters(t *testing.T, f *FSM) (live, gc uint64) {
	t.Helper()
	live, gc, err := f.Counters()
	if err != nil {
		t.Fatal(err)
	}
	return live, gc
}

// TestVersioningStateMachine walks every transition (unversioned ->
// Enabled -> Suspended -> Enabled), with null versions, delete markers,
// suspended overwrites and removal by version id, and checks which
// chunks stay referenced at each step.
func TestVersioningStateMachine(t *testing.T) {
	tf := newTestFSM(t)
	f := tf.f
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "vbk", Created: goldenAt}})
	tf.mustApply(OpAllocChunks, AllocChunks{Count: 20})
	put := func(chunk proto.ChunkID) any {
		return tf.mustApply(OpPutObject, PutObject{Object: goldenChunked("vbk", "k", chunk, 10)})
	}
	del := func(vid string) proto.DeleteResult {
		t.Helper()
		r, err := tf.apply(OpDeleteObject, DeleteObject{Bucket: "vbk", Key: "k", VersionID: vid, At: &goldenAt})
		if err != nil {
			t.Fatalf("delete %q: %v", vid, err)
		}
		res, _ := r.(proto.DeleteResult)
		return res
	}
	want := func(step string, names ...string) {
		t.Helper()
		if got := versionNames(t, f, "vbk", "k"); !slices.Equal(got, names) {
			t.Fatalf("%s: versions %q, want %q", step, got, names)
		}
	}
	wantChunks := func(step string, live, gc uint64) {
		t.Helper()
		if l, g := counters(t, f); l != live || g != gc {
			t.Fatalf("%s: %d live chunks and %d to delete, want %d and %d", step, l, g, live, gc)
		}
	}

	// Unversioned: an overwrite frees the old chunk; the version is null.
	if v, ok := put(1).(uint64); !ok || v == 0 {
		t.Fatalf("an unversioned commit answers %v", v)
	}
	put(2)
	want("unversioned", "null*")
	wantChunks("unversioned overwrite", 1, 1)

	// Enabled: the null version is kept, new versions get ids.
	tf.mustApply(OpSetVersioning, SetVersioning{Bucket: "vbk", Status: proto.VersioningEnabled})
	r := put(3).(CommitResult)
	if _, null, ok := proto.ParseVersionID(r.VersionID); !ok || null || r.VersionID != proto.VersionIDFor(r.Version) {
		t.Fatalf("versioned commit: %+v", r)
	}
	v3 := r.VersionID
	v4 := put(4).(CommitResult).VersionID
	if v4 <= v3 {
		t.Fatalf("version ids not ordered: %s then %s", v3, v4)
	}
	want("enabled", v4+"*", v3, "null")
	wantChunks("enabled", 3, 1)
	if o, err := f.Object("vbk", "k"); err != nil || o.VersionID != v4 || o.Extents[0].Chunk != 4 {
		t.Fatalf("current: %+v %v", o, err)
	}
	if o, err := f.ObjectVersion("vbk", "k", "null"); err != nil || o.Extents[0].Chunk != 2 {
		t.Fatalf("null version: %+v %v", o, err)
	}
	if _, err := f.ObjectVersion("vbk", "k", proto.VersionIDFor(999)); !errors.Is(err, ErrNoSuchVersion) {
		t.Fatalf("missing version: %v", err)
	}

	// A delete makes a marker; the key reads as missing; nothing is freed.
	dm := del("")
	if !dm.DeleteMarker || dm.VersionID == "" || dm.VersionID == "null" {
		t.Fatalf("delete marker: %+v", dm)
	}
	want("marker", "dm:"+dm.VersionID+"*", v4, v3, "null")
	wantChunks("marker", 3, 1)
	if _, err := f.Object("vbk", "k"); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("read under a marker: %v", err)
	}
	if o, err := f.Latest("vbk", "k"); err != nil || !o.DeleteMarker {
		t.Fatalf("latest under a marker: %+v %v", o, err)
	}
	// Removing the marker brings v4 back.
	if r := del(dm.VersionID); !r.DeleteMarker || r.VersionID != dm.VersionID {
		t.Fatalf("removing the marker: %+v", r)
	}
	want("marker removed", v4+"*", v3, "null")
	// Removing the current version for good frees its chunk, v3 is current.
	del(v4)
	want("current removed", v3+"*", "null")
	wantChunks("current removed", 2, 2)
	// Removing a version that does not exist is no error and changes nothing.
	if r := del(proto.VersionIDFor(12345)); r.DeleteMarker {
		t.Fatalf("removing a missing version: %+v", r)
	}
	if _, err := tf.apply(OpDeleteObject, DeleteObject{Bucket: "vbk", Key: "k", VersionID: "not-an-id"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a malformed version id: %v", err)
	}

	// Suspended: a write becomes the null version, replacing the old null
	// one (its chunk freed) and keeping v3.
	tf.mustApply(OpSetVersioning, SetVersioning{Bucket: "vbk", Status: proto.VersioningSuspended})
	if r := put(5).(CommitResult); r.VersionID != "null" {
		t.Fatalf("suspended commit: %+v", r)
	}
	want("suspended write", "null*", v3)
	wantChunks("suspended write", 2, 3)
	// A suspended overwrite replaces the null version in place.
	put(6)
	want("suspended overwrite", "null*", v3)
	wantChunks("suspended overwrite", 2, 4)
	// A suspended delete: the null version goes, a null marker is latest.
	if r := del(""); r.VersionID != "null" || !r.DeleteMarker {
		t.Fatalf("suspended delete: %+v", r)
	}
	want("suspended delete", "dm:null*", v3)
	wantChunks("suspended delete", 1, 5)

	// Enabled again: the null marker stays as a noncurrent version.
	tf.mustApply(OpSetVersioning, SetVersioning{Bucket: "vbk", Status: proto.VersioningEnabled})
	v7 := put(7).(CommitResult).VersionID
	want("re-enabled", v7+"*", "dm:null", v3)
	del("null")
	want("null marker removed", v7+"*", v3)

	// The bucket cannot go while versions remain; a rename is refused.
	if _, err := tf.apply(OpRenameObject, RenameObject{Bucket: "vbk", From: "k", To: "k2", Modified: goldenAt}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("rename in a versioned bucket: %v", err)
	}
	del(v7)
	del(v3)
	want("all gone")
	if _, err := f.Object("vbk", "k"); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("read after every version is gone: %v", err)
	}
	wantChunks("all gone", 0, 7)
	del("") // a marker for a key with no versions
	if _, err := tf.apply(OpDeleteBucket, DeleteBucket{Name: "vbk"}); !errors.Is(err, ErrBucketNotEmpty) {
		t.Fatalf("delete a bucket holding a marker: %v", err)
	}
	res, _ := f.ListVersions(proto.VersionsRequest{Bucket: "vbk"})
	del(res.Versions[0].VersionID)
	tf.mustApply(OpDeleteBucket, DeleteBucket{Name: "vbk"})

	// Invalid transitions are refused.
	if _, err := tf.apply(OpSetVersioning, SetVersioning{Bucket: "vbk", Status: proto.VersioningEnabled}); !errors.Is(err, ErrNoSuchBucket) {
		t.Fatalf("versioning of a missing bucket: %v", err)
	}
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "vbk", Created: goldenAt}})
	for _, s := range []string{"", "Disabled", "enabled"} {
		if _, err := tf.apply(OpSetVersioning, SetVersioning{Bucket: "vbk", Status: s}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("status %q: %v", s, err)
		}
	}
}

// TestMultipartCompletionMakesAVersion: a completion in a versioned bucket
// keeps the overwritten version.
func TestMultipartCompletionMakesAVersion(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1", Created: goldenAt}})
	tf.mustApply(OpSetVersioning, SetVersioning{Bucket: "bk1", Status: proto.VersioningEnabled})
	tf.mustApply(OpAllocChunks, AllocChunks{Count: 4})
	tf.mustApply(OpPutObject, PutObject{Object: goldenChunked("bk1", "mp1", 1, 10)})
	tf.mustApply(OpCreateUpload, goldenUpload("up1", "mp1"))
	tf.mustApply(OpPutPart, goldenPart("bk1", "up1", 2))
	obj := tf.mustApply(OpCompleteUpload, goldenComplete("up1")).(proto.Object)
	if _, null, ok := proto.ParseVersionID(obj.VersionID); !ok || null {
		t.Fatalf("completed object: %+v", obj)
	}
	if got := versionNames(t, tf.f, "bk1", "mp1"); len(got) != 2 || got[0] != obj.VersionID+"*" {
		t.Fatalf("versions after completion: %q", got)
	}
	if live, gc := counters(t, tf.f); live != 2 || gc != 0 {
		t.Fatalf("chunks after completion: %d live, %d to delete", live, gc)
	}
}

// TestListVersionsPages: paging with key and version markers, and a
// delimiter, gives the same entries as one listing; a key with many
// versions costs a page, not all its versions.
func TestListVersionsPages(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "lvb", Created: goldenAt}})
	tf.mustApply(OpSetVersioning, SetVersioning{Bucket: "lvb", Status: proto.VersioningEnabled})
	keys := []string{"a", "a/b", "a/c", "b", "c/d/e", "many"}
	for _, k := range keys {
		tf.mustApply(OpPutObject, PutObject{Object: goldenInline("lvb", k, "1")})
		tf.mustApply(OpPutObject, PutObject{Object: goldenInline("lvb", k, "2")})
	}
	tf.mustApply(OpDeleteObject, DeleteObject{Bucket: "lvb", Key: "b", At: &goldenAt})
	for i := range 300 {
		tf.mustApply(OpPutObject, PutObject{Object: goldenInline("lvb", "many", fmt.Sprint(i))})
	}
	all, err := tf.f.ListVersions(proto.VersionsRequest{Bucket: "lvb"})
	if err != nil || all.IsTruncated || len(all.Versions) != 2*len(keys)+1+300 {
		t.Fatalf("one listing: %d versions, truncated %v, %v", len(all.Versions), all.IsTruncated, err)
	}
	for i := 1; i < len(all.Versions); i++ {
		a, b := all.Versions[i-1], all.Versions[i]
		if a.Key > b.Key || a.Key == b.Key && (a.Version <= b.Version || b.IsLatest) {
			t.Fatalf("order at %d: %s/%s then %s/%s", i, a.Key, a.VersionName(), b.Key, b.VersionName())
		}
	}
	for _, page := range []int{1, 2, 7, 1000} {
		req := proto.VersionsRequest{Bucket: "lvb", MaxKeys: page}
		var got []proto.ObjectVersion
		for n := 0; ; n++ {
			res, err := tf.f.ListVersions(req)
			if err != nil || n > 1000 {
				t.Fatalf("page %d: %v", n, err)
			}
			got = append(got, res.Versions...)
			if !res.IsTruncated {
				break
			}
			req.KeyMarker, req.VersionIDMarker = res.NextKeyMarker, res.NextVersionIDMarker
		}
		if len(got) != len(all.Versions) {
			t.Fatalf("pages of %d: %d versions, want %d", page, len(got), len(all.Versions))
		}
		for i := range got {
			if got[i].Key != all.Versions[i].Key || got[i].Version != all.Versions[i].Version || got[i].IsLatest != all.Versions[i].IsLatest {
				t.Fatalf("pages of %d differ at %d", page, i)
			}
		}
	}
	res, err := tf.f.ListVersions(proto.VersionsRequest{Bucket: "lvb", Delimiter: "/"})
	if err != nil || !slices.Equal(res.CommonPrefixes, []string{"a/", "c/"}) || len(res.Versions) != 2+3+302 {
		t.Fatalf("with a delimiter: %q, %d versions, %v", res.CommonPrefixes, len(res.Versions), err)
	}
	res, _ = tf.f.ListVersions(proto.VersionsRequest{Bucket: "lvb", Prefix: "a/", KeyMarker: "a/b"})
	if len(res.Versions) != 2 || res.Versions[0].Key != "a/c" {
		t.Fatalf("after a key marker: %+v", res.Versions)
	}
	// The latest version of a key with many versions is its current record,
	// and a listing of current objects looks at it alone.
	if o, err := tf.f.Object("lvb", "many"); err != nil || string(o.Inline) != "299" {
		t.Fatalf("latest of many: %v", err)
	}
	if res, err := tf.f.List(proto.ListRequest{Bucket: "lvb", Prefix: "many"}); err != nil || len(res.Objects) != 1 || res.Examined != 1 {
		t.Fatalf("listing a key with 302 versions: %d objects, %d examined, %v", len(res.Objects), res.Examined, err)
	}
}
