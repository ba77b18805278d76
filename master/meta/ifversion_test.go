package meta

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

// TestDeleteIfVersion: a delete conditional on a version (the lifecycle
// worker's) applies only to that version: in a versioned bucket it makes
// a delete marker only over the version it names, and applied again (by
// a new leader) it finds another latest and changes nothing.
func TestDeleteIfVersion(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "vbk", Created: goldenAt}})
	tf.mustApply(OpSetVersioning, SetVersioning{Bucket: "vbk", Status: proto.VersioningEnabled})
	tf.mustApply(OpPutObject, PutObject{Object: goldenInline("vbk", "k", "one")})
	cur, err := tf.f.Object("vbk", "k")
	if err != nil {
		t.Fatal(err)
	}
	first := cur.Version
	tf.mustApply(OpPutObject, PutObject{Object: goldenInline("vbk", "k", "two")}) // an overwrite after the worker looked
	if _, err := tf.apply(OpDeleteObject, DeleteObject{Bucket: "vbk", Key: "k", IfVersion: first, At: &goldenAt}); !errors.Is(err, ErrPrecondition) {
		t.Fatalf("delete of an overwritten version: %v", err)
	}
	cur, _ = tf.f.Object("vbk", "k")
	expire := DeleteObject{Bucket: "vbk", Key: "k", IfVersion: cur.Version, At: &goldenAt}
	if _, err := tf.apply(OpDeleteObject, expire); err != nil {
		t.Fatal(err)
	}
	want := versionNames(t, tf.f, "vbk", "k")
	if len(want) != 3 || !strings.HasPrefix(want[0], "dm:") || !strings.HasSuffix(want[0], "*") || want[1] != proto.VersionIDFor(cur.Version) {
		t.Fatalf("versions after the expiry: %q", want)
	}
	if _, err := tf.apply(OpDeleteObject, expire); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("the same expiry again: %v", err)
	}
	if got := versionNames(t, tf.f, "vbk", "k"); !slices.Equal(got, want) {
		t.Fatalf("versions after the expiry applied twice: %q, want %q", got, want)
	}
}
