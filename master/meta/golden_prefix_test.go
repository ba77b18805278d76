package meta

import (
	"bytes"
	"errors"
	"strconv"
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

// TestGoldenRenamePrefixEntries: the directory rename opcode, in
// testdata/prefix_log.golden, after the first golden log.
func TestGoldenRenamePrefixEntries(t *testing.T) {
	checkGoldenSet(t, "prefix", goldenLog(), goldenPrefixLog(), OpRenamePrefix, OpRenamePrefix)
}

func goldenPrefixLog() []goldenEntry {
	mv := func(from, to string) RenamePrefix {
		return RenamePrefix{Bucket: "dirs", From: from, To: to, Modified: goldenAt}
	}
	return []goldenEntry{
		v1(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "dirs", Created: goldenAt, Replication: 1}}),
		v1(OpPutObject, PutObject{Object: goldenInline("dirs", "a/", "")}),
		v1(OpPutObject, PutObject{Object: goldenInline("dirs", "a/x", "ex")}),
		v1(OpPutObject, PutObject{Object: goldenInline("dirs", "a/sub/y", "why")}),
		v1(OpPutObject, PutObject{Object: goldenInline("dirs", "c/z", "zed")}),
		v1(OpRenamePrefix, mv("a/", "b/")),                                         // moved: three keys
		v2(701, OpRenamePrefix, mv("b/", "c/")),                                    // refused: c/ holds c/z
		v2(701, OpRenamePrefix, mv("b/", "c/")),                                    // replayed
		v1(OpRenamePrefix, mv("b/", "b/sub/")),                                     // refused: inside itself
		v1(OpRenamePrefix, RenamePrefix{Bucket: "nobucket", From: "a/", To: "b/"}), // refused
		v2(702, OpRenamePrefix, mv("b/sub/", "d/")),                                // moved: one key
	}
}

// TestRenamePrefixTooLarge: a directory whose records exceed the bounds
// of one transaction is refused before anything moves.
func TestRenamePrefixTooLarge(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "dirs", Created: goldenAt, Replication: 1}})
	big := string(make([]byte, proto.MaxInlineBytes))
	n := MaxPrefixRenameBytes/proto.MaxInlineBytes + 1
	for i := range n {
		tf.mustApply(OpPutObject, PutObject{Object: goldenInline("dirs", "a/"+strconv.Itoa(i), big)})
	}
	before := stateText(t, tf.f)
	if _, err := tf.apply(OpRenamePrefix, RenamePrefix{Bucket: "dirs", From: "a/", To: "b/", Modified: goldenAt}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("rename of %d objects of %d bytes: %v, want ErrTooLarge", n, len(big), err)
	}
	if after := stateText(t, tf.f); !bytes.Equal(dropApplied(after), dropApplied(before)) {
		t.Fatal("a refused rename changed the state")
	}
}
