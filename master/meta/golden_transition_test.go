package meta

import (
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

// TestGoldenTransitionEntries: the optional fields a lifecycle transition
// and the background conversion added (ReplaceExtents.VersionID and
// StorageClass, PutBucketConf.Convert), in
// testdata/transition_log.golden, after the first golden log. Older
// entries decode as before: the fields are left out when empty.
func TestGoldenTransitionEntries(t *testing.T) {
	base := goldenLog()
	checkGoldenSet(t, "transition", base, goldenTransitionLog(len(base), chunkHW(t, base)), OpReplaceExtents, OpReplaceExtents)
}

func goldenTransitionLog(n int, hw proto.ChunkID) []goldenEntry {
	c := func(i proto.ChunkID) proto.ChunkID { return hw + i }
	stripe := func(first proto.ChunkID, size int64) []proto.Extent {
		return []proto.Extent{{Chunk: c(first), Length: size,
			Stripe: &proto.Stripe{K: 2, M: 1, Cell: 64, Shards: []proto.ChunkID{c(first), c(first + 1), c(first + 2)}}}}
	}
	obj := func(chunk proto.ChunkID, etag string) proto.Object {
		return proto.Object{Bucket: "tier", Key: "o", Size: 100, ETag: etag, Modified: goldenAt,
			Extents: []proto.Extent{{Chunk: c(chunk), Length: 100}}}
	}
	inline := proto.Object{Bucket: "tier", Key: "small", Size: 2, ETag: "e-s", Modified: goldenAt, Inline: []byte("hi")}
	v1put := uint64(n + 5) // the put of entry 5: noncurrent after entry 6
	v2put := uint64(n + 6)
	rule := proto.ConvertRule{Policy: "rs-2-1", AfterSeconds: 604800}
	off := proto.ConvertRule{}
	inherit := proto.ConvertRule{AfterSeconds: -1}
	bad := proto.ConvertRule{Policy: "rep-2", AfterSeconds: 60}
	return []goldenEntry{
		v1(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "tier", Created: goldenAt, Replication: 3}}),
		v1(OpSetVersioning, SetVersioning{Bucket: "tier", Status: proto.VersioningEnabled}),
		v1(OpAllocChunks, AllocChunks{Count: 20}),
		v1(OpPutObject, PutObject{Object: inline}),
		v1(OpPutObject, PutObject{Object: obj(0, "e-1")}),
		v1(OpPutObject, PutObject{Object: obj(1, "e-2")}),
		v2(901, OpReplaceExtents, ReplaceExtents{Bucket: "tier", Key: "o", IfVersion: v2put, Extents: stripe(2, 100), StorageClass: "STANDARD_IA"}),          // current: stripes and class
		v2(902, OpReplaceExtents, ReplaceExtents{Bucket: "tier", Key: "o", VersionID: proto.VersionIDFor(v1put), IfVersion: v1put, Extents: stripe(5, 100)}), // noncurrent: stripes
		v1(OpReplaceExtents, ReplaceExtents{Bucket: "tier", Key: "o", VersionID: proto.VersionIDFor(v1put), IfVersion: v1put, StorageClass: "GLACIER_IR"}),   // noncurrent: class only
		v1(OpReplaceExtents, ReplaceExtents{Bucket: "tier", Key: "small", IfVersion: uint64(n + 4), StorageClass: "STANDARD_IA"}),                            // inline: class only
		v1(OpReplaceExtents, ReplaceExtents{Bucket: "tier", Key: "small", IfVersion: uint64(n + 4)}),                                                         // refused: nothing to change
		v1(OpReplaceExtents, ReplaceExtents{Bucket: "tier", Key: "o", VersionID: proto.VersionIDFor(v1put), IfVersion: v2put, StorageClass: "STANDARD"}),     // refused: not that version
		v1(OpReplaceExtents, ReplaceExtents{Bucket: "tier", Key: "o", IfVersion: v2put, StorageClass: "NOPE"}),                                               // taken: the master checks storage classes before proposing
		v1(OpPutBucketConf, PutBucketConf{Bucket: "tier", Convert: &rule}),
		v1(OpPutBucketConf, PutBucketConf{Bucket: "tier", Convert: &bad}), // refused: the target must be rs-K-M
		v1(OpPutBucketConf, PutBucketConf{Bucket: "tier", Convert: &off}),
		v2(903, OpPutBucketConf, PutBucketConf{Bucket: "tier", Convert: &inherit}),
	}
}
