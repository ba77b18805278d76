package meta

import (
	"encoding/hex"
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

// TestGoldenReplaceExtentsEntries: the conversion opcode, in
// testdata/convert_log.golden, after the first golden log.
func TestGoldenReplaceExtentsEntries(t *testing.T) {
	base := goldenLog()
	checkGoldenSet(t, "convert", base, goldenConvertLog(len(base), chunkHW(t, base)), OpReplaceExtents, OpReplaceExtents)
}

func goldenConvertLog(n int, hw proto.ChunkID) []goldenEntry {
	c := func(i proto.ChunkID) proto.ChunkID { return hw + i }
	stripe := func(first proto.ChunkID, size int64) []proto.Extent {
		return []proto.Extent{{Chunk: c(first), Length: size,
			Stripe: &proto.Stripe{K: 2, M: 1, Cell: 64, Shards: []proto.ChunkID{c(first), c(first + 1), c(first + 2)}}}}
	}
	replicated := proto.Object{Bucket: "conv", Key: "o", Size: 100, ETag: "e-o", Modified: goldenAt,
		Extents: []proto.Extent{{Chunk: c(0), Length: 100}}}
	put := uint64(n + 3) // the put of entry 3
	return []goldenEntry{
		v1(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "conv", Created: goldenAt, Replication: 3}}),
		v1(OpAllocChunks, AllocChunks{Count: 20}),
		v1(OpPutObject, PutObject{Object: replicated}),
		v1(OpReplaceExtents, ReplaceExtents{Bucket: "conv", Key: "o", IfVersion: put + 1, Extents: stripe(1, 100)}),  // refused: not that version
		v2(801, OpReplaceExtents, ReplaceExtents{Bucket: "conv", Key: "o", IfVersion: put, Extents: stripe(1, 99)}),  // refused: 99 bytes of 100
		v2(802, OpReplaceExtents, ReplaceExtents{Bucket: "conv", Key: "o", IfVersion: put, Extents: stripe(1, 100)}), // converted; chunk 0 freed
		v2(802, OpReplaceExtents, ReplaceExtents{Bucket: "conv", Key: "o", IfVersion: put, Extents: stripe(1, 100)}), // replayed
		v1(OpReplaceExtents, ReplaceExtents{Bucket: "conv", Key: "o", IfVersion: put, Extents: stripe(4, 100)}),      // back again: stripe 1 freed
		v1(OpReplaceExtents, ReplaceExtents{Bucket: "conv", Key: "o", IfVersion: put, Extents: stripe(1, 100)}),      // refused: freed chunks
	}
}

// TestDataPolicyConfEncoding pins the stored form of a data policy change
// (PutBucketConf.DataPolicy, omitted when nil: older entries decode as
// before) and checks what it does to a bucket.
func TestDataPolicyConfEncoding(t *testing.T) {
	rs := "rs-4-2"
	b, err := EncodeCommand(OpPutBucketConf, PutBucketConf{Bucket: "b", DataPolicy: &rs})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(b), "01157b226275636b6574223a2262222c2264617461506f6c696379223a2272732d342d32227d"; got != want {
		t.Fatalf("encoding changed:\n got %s\nwant %s", got, want)
	}
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "pol", Created: goldenAt, Replication: 3}})
	tf.mustApply(OpPutBucketConf, PutBucketConf{Bucket: "pol", DataPolicy: &rs})
	if got, _ := tf.f.Bucket("pol"); got.DataPolicy != "rs-4-2" || got.Replication != 3 {
		t.Fatalf("after rs-4-2: %+v", got)
	}
	rep := "rep-2"
	tf.mustApply(OpPutBucketConf, PutBucketConf{Bucket: "pol", DataPolicy: &rep})
	if got, _ := tf.f.Bucket("pol"); got.DataPolicy != "" || got.Replication != 2 {
		t.Fatalf("after rep-2: %+v", got)
	}
	bad := "rs-4"
	if _, err := tf.apply(OpPutBucketConf, PutBucketConf{Bucket: "pol", DataPolicy: &bad}); err == nil {
		t.Fatal("a malformed policy was taken")
	}
}

// TestGoldenSetMetaEntries: the metadata-only update, in
// testdata/setmeta_log.golden, after the first golden log.
func TestGoldenSetMetaEntries(t *testing.T) {
	checkGoldenSet(t, "setmeta", goldenLog(), goldenSetMetaLog(), OpSetMeta, lastOp)
}

func goldenSetMetaLog() []goldenEntry {
	set := func(key, etag string, meta map[string]string) SetMeta {
		return SetMeta{Bucket: "attrs", Key: key, IfETag: etag, Meta: meta, Modified: goldenAt}
	}
	mode := map[string]string{"mode": "100644", "mtime": "1700000000"}
	return []goldenEntry{
		v1(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "attrs", Created: goldenAt, Replication: 1}}),
		v1(OpPutObject, PutObject{Object: goldenInline("attrs", "f", "file bytes")}),
		v1(OpSetMeta, set("f", "e-file bytes", mode)),                       // set; the bytes stay apart
		v2(901, OpSetMeta, set("f", "e-file bytes", nil)),                   // cleared
		v2(901, OpSetMeta, set("f", "e-file bytes", nil)),                   // replayed
		v1(OpSetMeta, set("f", "e-other", mode)),                            // refused: the ETag changed
		v2(902, OpSetMeta, set("missing", "e-x", mode)),                     // refused: no such key
		v1(OpSetMeta, set("f", "e-file bytes", map[string]string{"": "x"})), // refused: empty name
	}
}
