package meta

import (
	"bytes"
	"encoding/hex"
	"errors"
	"maps"
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

// TestObjectTagsKeepTheObject: a tag change keeps the record's version,
// ETag, time and inline bytes; refused changes leave everything as it was.
func TestObjectTagsKeepTheObject(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1", Created: goldenAt}})
	v := tf.mustApply(OpPutObject, PutObject{Object: goldenInline("bk1", "o", "inline bytes")}).(uint64)
	before, err := tf.f.Object("bk1", "o")
	if err != nil {
		t.Fatal(err)
	}
	tagging := proto.EncodeTags(map[string]string{"a": "1", "b c": "d/e"})
	tf.mustApply(OpPutObjectTags, PutObjectTags{Bucket: "bk1", Key: "o", Tagging: tagging})
	after, err := tf.f.Object("bk1", "o")
	if err != nil {
		t.Fatal(err)
	}
	if after.Tagging != tagging || after.Version != v || after.ETag != before.ETag ||
		!after.Modified.Equal(before.Modified) || !bytes.Equal(after.Inline, []byte("inline bytes")) {
		t.Fatalf("after tagging: %+v", after)
	}
	// A conditional commit on the version still holds after a tag change.
	if _, err := tf.apply(OpPutObject, PutObject{Object: goldenInline("bk1", "o", "next"), IfVersion: v}); err != nil {
		t.Fatalf("commit on the version after a tag change: %v", err)
	}
	if o, _ := tf.f.Object("bk1", "o"); o.Tagging != "" {
		t.Fatalf("an overwrite without tags kept %q", o.Tagging)
	}

	state := stateText(t, tf.f)
	eleven := map[string]string{}
	for i := range 11 {
		eleven[string(rune('a'+i))] = "v"
	}
	for name, c := range map[string]PutObjectTags{
		"missing key":    {Bucket: "bk1", Key: "nope", Tagging: "a=1"},
		"missing bucket": {Bucket: "bk9", Key: "o", Tagging: "a=1"},
		"eleven tags":    {Bucket: "bk1", Key: "o", Tagging: proto.EncodeTags(eleven)},
		"not canonical":  {Bucket: "bk1", Key: "o", Tagging: "b=1&a=1"},
		"duplicate":      {Bucket: "bk1", Key: "o", Tagging: "a=1&a=2"},
		"reserved":       {Bucket: "bk1", Key: "o", Tagging: "aws%3Ax=1"},
	} {
		if _, err := tf.apply(OpPutObjectTags, c); err == nil {
			t.Errorf("%s: applied", name)
		}
	}
	// A commit carrying bad tags is refused too.
	bad := goldenInline("bk1", "o", "x")
	bad.Tagging = "b=1&a=1"
	if _, err := tf.apply(OpPutObject, PutObject{Object: bad}); !errors.Is(err, ErrInvalid) {
		t.Errorf("commit with non-canonical tags: %v", err)
	}
	if got := stateText(t, tf.f); !bytes.Equal(dropApplied(got), dropApplied(state)) {
		t.Fatalf("refused tag changes changed the state")
	}
}

// TestBucketConfParts: each part of a bucket configuration is replaced
// alone, an empty part removes it, and invalid parts are refused whole.
func TestBucketConfParts(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1", Created: goldenAt, Replication: 2}})
	tags := map[string]string{"team": "storage"}
	rules := []proto.CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}}}
	tf.mustApply(OpPutBucketConf, PutBucketConf{Bucket: "bk1", Tags: &tags})
	tf.mustApply(OpPutBucketConf, PutBucketConf{Bucket: "bk1", CORS: &rules})
	b, err := tf.f.Bucket("bk1")
	if err != nil || !maps.Equal(b.Tags, tags) || len(b.CORS) != 1 || b.Replication != 2 {
		t.Fatalf("bucket after both parts: %+v %v", b, err)
	}
	none := map[string]string{}
	tf.mustApply(OpPutBucketConf, PutBucketConf{Bucket: "bk1", Tags: &none})
	if b, _ := tf.f.Bucket("bk1"); b.Tags != nil || len(b.CORS) != 1 {
		t.Fatalf("removing the tags: %+v", b)
	}
	state := stateText(t, tf.f)
	many := map[string]string{}
	for i := range 51 {
		many[string(rune('A'+i))] = ""
	}
	bad := []proto.CORSRule{{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"PATCH"}}}
	twoStars := []proto.CORSRule{{AllowedOrigins: []string{"*.*"}, AllowedMethods: []string{"GET"}}}
	noOrigin := []proto.CORSRule{{AllowedMethods: []string{"GET"}}}
	for name, c := range map[string]PutBucketConf{
		"51 tags":         {Bucket: "bk1", Tags: &many},
		"PATCH":           {Bucket: "bk1", Tags: &tags, CORS: &bad}, // refused whole: the tags stay removed
		"two wildcards":   {Bucket: "bk1", CORS: &twoStars},
		"no origin":       {Bucket: "bk1", CORS: &noOrigin},
		"missing bucket":  {Bucket: "bk9", Tags: &tags},
		"bad bucket name": {Bucket: "B", Tags: &tags},
	} {
		if _, err := tf.apply(OpPutBucketConf, c); err == nil {
			t.Errorf("%s: applied", name)
		}
	}
	if got := stateText(t, tf.f); !bytes.Equal(dropApplied(got), dropApplied(state)) {
		t.Fatalf("refused configuration changes changed the state")
	}
}

// TestVersionTags: PutObjectTags with a VersionID changes that version's
// tags, current or not, refuses a delete marker and a missing version,
// and encodes with its versionId field (the bytes below are the stored
// format; older entries without the field decode as before).
func TestVersionTags(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1", Created: goldenAt}})
	tf.mustApply(OpSetVersioning, SetVersioning{Bucket: "bk1", Status: proto.VersioningEnabled})
	tf.mustApply(OpPutObject, PutObject{Object: goldenInline("bk1", "o", "first")})
	tf.mustApply(OpPutObject, PutObject{Object: goldenInline("bk1", "o", "second")})
	vs, err := tf.f.ListVersions(proto.VersionsRequest{Bucket: "bk1", MaxKeys: 10})
	if err != nil || len(vs.Versions) != 2 {
		t.Fatalf("versions %+v %v", vs, err)
	}
	older, newer := vs.Versions[1].VersionID, vs.Versions[0].VersionID
	tf.mustApply(OpPutObjectTags, PutObjectTags{Bucket: "bk1", Key: "o", VersionID: older, Tagging: "age=old"})
	tf.mustApply(OpPutObjectTags, PutObjectTags{Bucket: "bk1", Key: "o", VersionID: newer, Tagging: "age=new"})
	vs, _ = tf.f.ListVersions(proto.VersionsRequest{Bucket: "bk1", MaxKeys: 10})
	if vs.Versions[1].Tagging != "age=old" || vs.Versions[0].Tagging != "age=new" {
		t.Fatalf("version tags %q %q", vs.Versions[1].Tagging, vs.Versions[0].Tagging)
	}
	if _, err := tf.apply(OpPutObjectTags, PutObjectTags{Bucket: "bk1", Key: "o", VersionID: "00000000000000ff", Tagging: "x=y"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("tags of a missing version: %v", err)
	}
	tf.mustApply(OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "o"})
	vs, _ = tf.f.ListVersions(proto.VersionsRequest{Bucket: "bk1", MaxKeys: 10})
	if _, err := tf.apply(OpPutObjectTags, PutObjectTags{Bucket: "bk1", Key: "o", VersionID: vs.Versions[0].VersionID, Tagging: "x=y"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("tags of a delete marker: %v", err)
	}
	b, err := EncodeCommand(OpPutObjectTags, PutObjectTags{Bucket: "b", Key: "k", Tagging: "a=1", VersionID: "0000000000000001"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(b), "01147b226275636b6574223a2262222c226b6579223a226b222c2274616767696e67223a22613d31222c2276657273696f6e4964223a2230303030303030303030303030303031227d"; got != want {
		t.Fatalf("encoding changed:\n got %s\nwant %s", got, want)
	}
}
