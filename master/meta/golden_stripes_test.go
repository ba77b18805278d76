package meta

import (
	"bytes"
	"encoding/binary"
	"maps"
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/chunkindex"
)

// TestGoldenStripeEntries: the stripe index (s/<first shard>) that puts,
// overwrites, renames, deletes, multipart parts, completions, aborts and
// versions of erasure-coded objects leave, in testdata/stripes_*.golden,
// after the five logs before it. No earlier golden state has a stripe,
// and none gains an s/ key: stripes and their index came in together, so
// there is no stored stripe without its entry to migrate.
func TestGoldenStripeEntries(t *testing.T) {
	base := stripeBase()
	checkGoldenSet(t, "stripes", base, goldenStripeLog(len(base), chunkHW(t, base)), OpPutObject, OpPutObject)
}

// TestStripeIndexFollowsRecords applies the stripe log entry by entry and
// checks after each that the stripe index is exactly the stripes the
// object records (current and noncurrent) and the uploaded parts name,
// and that ChunkRefs leaves their shards out.
func TestStripeIndexFollowsRecords(t *testing.T) {
	base := stripeBase()
	entries := goldenStripeLog(len(base), chunkHW(t, base))
	tf := newTestFSM(t)
	for _, e := range base {
		tf.applyRaw(encodeGolden(t, e))
	}
	for i, e := range entries {
		tf.applyRaw(encodeGolden(t, e))
		want := recordStripes(t, tf.f)
		got, err := tf.f.Stripes()
		if err != nil {
			t.Fatal(err)
		}
		if !maps.EqualFunc(got, want, func(a, b StripeRecord) bool {
			return a.K == b.K && a.M == b.M && a.Cell == b.Cell && a.Size == b.Size && slices.Equal(a.Shards, b.Shards)
		}) {
			t.Fatalf("after entry %d (%v): index %v, records name %v", i+1, e.o, got, want)
		}
		refs, err := tf.f.ChunkRefs()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range got {
			for _, id := range s.Shards {
				if _, ok := refs[id]; ok {
					t.Fatalf("after entry %d: shard %d in ChunkRefs", i+1, id)
				}
			}
		}
	}
	got, _ := tf.f.Stripes()
	if len(got) != 5 {
		t.Fatalf("the log should leave 5 stripes, has %v", got)
	}
	w := entries[len(entries)-1].payload.(PutObject).Object
	first, second := w.Extents[0].Chunk, w.Extents[1].Stripe.Shards[2]
	owners, err := tf.f.ChunkOwners([]proto.ChunkID{first, second, 1 << 40})
	if err != nil || len(owners) != 2 || owners[first] != "bk7/w" || owners[second] != "bk7/w" {
		t.Fatalf("owners %v, %v", owners, err)
	}

	// An entry left behind for a freed stripe (a command that forgot to
	// remove it) is not a live stripe: never repaired, counted or missing.
	freed := entries[2].payload.(PutObject).Object.Extents[0].Stripe // overwritten by entry 5
	// Written as a command would write it, so that the chunk index in
	// memory has it too.
	txn := tf.f.db.NewTransaction(true)
	journal := chunkindex.Record(txn, tf.f.idx)
	cached := tf.f.cache.Track(txn)
	err = chunkindex.SwapStripes(txn, nil, map[proto.ChunkID]StripeRecord{
		freed.Shards[0]: {K: 2, M: 1, Cell: 4, Size: 10, Shards: freed.Shards},
	})
	chunkindex.Stop(txn)
	cached.Untrack()
	if err == nil {
		err = tf.f.commit(txn, journal, cached)
	}
	if err != nil {
		t.Fatal(err)
	}
	refs, live, err := tf.f.RefsAndStripes()
	if err != nil || len(live) != 5 {
		t.Fatalf("live stripes %v, %v", live, err)
	}
	if _, ok := live[freed.Shards[0]]; ok {
		t.Fatalf("a freed stripe is live")
	}
	for _, id := range freed.Shards {
		if _, ok := refs[id]; ok {
			t.Fatalf("freed shard %d in the refs", id)
		}
	}
}

func stripeBase() []goldenEntry {
	prior := append(append(goldenLog(), goldenConfLog()...), goldenVersionLog()...)
	prior = append(prior, goldenLockLog(len(prior))...)
	return append(prior, goldenLifecycleLog(len(prior))...)
}

// chunkHW is the next chunk id after base.
func chunkHW(t *testing.T, base []goldenEntry) proto.ChunkID {
	tf := newTestFSM(t)
	for _, e := range base {
		tf.applyRaw(encodeGolden(t, e))
	}
	var hw uint64
	if err := tf.f.view(func(txn *badger.Txn) error {
		var err error
		hw, err = getCounter(txn, keyChunkHW)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return proto.ChunkID(hw)
}

// recordStripes derives the stripe index from the records: objects,
// noncurrent versions and parts.
func recordStripes(t *testing.T, f *FSM) map[proto.ChunkID]StripeRecord {
	t.Helper()
	out := map[proto.ChunkID]StripeRecord{}
	for _, prefix := range []string{"o/", "v/", "q/"} {
		err := scan(f, []byte(prefix), func(k, v []byte) error {
			var extents []proto.Extent
			if prefix == "q/" {
				var p proto.Part
				if err := decodeValue(k, v, &p); err != nil {
					return err
				}
				extents = p.Extents
			} else {
				if bytes.HasPrefix(k, []byte("vn/")) {
					return nil
				}
				var o proto.Object
				if err := decodeValue(k, v, &o); err != nil {
					return err
				}
				extents = o.Extents
			}
			maps.Copy(out, stripeSet(extents))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// goldenStripeLog follows n entries, with chunk ids from hw on: entry i
// applies at index n+i.
func goldenStripeLog(n int, hw proto.ChunkID) []goldenEntry {
	c := func(i proto.ChunkID) proto.ChunkID { return hw + i }
	stripe := func(first proto.ChunkID, size int64) proto.Extent {
		return proto.Extent{Chunk: c(first), Length: size,
			Stripe: &proto.Stripe{K: 2, M: 1, Cell: 4, Shards: []proto.ChunkID{c(first), c(first + 1), c(first + 2)}}}
	}
	obj := func(key string, extents ...proto.Extent) proto.Object {
		o := proto.Object{Bucket: "bk7", Key: key, ETag: "e-" + key, Modified: goldenAt, Extents: extents}
		for i := range o.Extents {
			o.Extents[i].Offset = o.Size
			o.Size += o.Extents[i].Length
		}
		return o
	}
	part := func(upload string, num int, first proto.ChunkID) PutPart {
		return PutPart{Bucket: "bk7", UploadID: upload, Part: proto.Part{Number: num, ETag: "p-" + upload, Size: 6,
			Modified: goldenAt, Extents: []proto.Extent{stripe(first, 6)}}}
	}
	upload := func(id string) CreateUpload {
		return CreateUpload{Upload: proto.Upload{ID: id, Bucket: "bk7", Key: "mp", Created: goldenAt}}
	}
	firstV := proto.VersionIDFor(uint64(n + 21)) // the put of entry 21
	return []goldenEntry{
		v1(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk7", Created: goldenAt, Replication: 1, DataPolicy: "rs-2-1"}}),
		v2(701, OpAllocChunks, AllocChunks{Count: 40}),
		v1(OpPutObject, PutObject{Object: obj("a", stripe(0, 10))}),
		v2(702, OpPutObject, PutObject{Object: obj("b", stripe(3, 8), stripe(6, 5))}),
		v1(OpPutObject, PutObject{Object: obj("a", stripe(9, 7))}),                               // overwrite: s/c0 goes
		v1(OpPutObject, PutObject{Object: obj("z", stripe(9, 7))}),                               // refused: shards in use
		v1(OpRenameObject, RenameObject{Bucket: "bk7", From: "b", To: "b2", Modified: goldenAt}), // stripes stay
		v1(OpRenameObject, RenameObject{Bucket: "bk7", From: "a", To: "b2", Modified: goldenAt}), // b2's go
		v1(OpDeleteObject, DeleteObject{Bucket: "bk7", Key: "b2"}),                               // s/c9 goes
		v1(OpCreateUpload, upload("up7")),
		v1(OpPutPart, part("up7", 1, 12)),
		v1(OpPutPart, part("up7", 1, 15)), // replaces part 1: s/c12 goes
		v1(OpPutPart, part("up7", 2, 18)),
		v1(OpCompleteUpload, CompleteUpload{Req: proto.CompleteRequest{Bucket: "bk7", UploadID: "up7",
			Parts: []proto.CompletePart{{Number: 1, ETag: "p-up7"}}}, Object: proto.Object{Modified: goldenAt}}), // part 2 unused: s/c18 goes
		v1(OpCreateUpload, upload("up8")),
		v1(OpPutPart, part("up8", 1, 21)),
		v1(OpAbortUpload, AbortUpload{Ref: proto.UploadRef{Bucket: "bk7", UploadID: "up8"}}), // s/c21 goes
		v1(OpSetVersioning, SetVersioning{Bucket: "bk7", Status: proto.VersioningEnabled}),
		v1(OpPutObject, PutObject{Object: obj("mp", stripe(24, 3))}), // the upload's object is kept as a version
		v1(OpDeleteObject, DeleteObject{Bucket: "bk7", Key: "mp"}),   // a delete marker; nothing goes
		v1(OpPutObject, PutObject{Object: obj("v", stripe(27, 9))}),
		v1(OpPutObject, PutObject{Object: obj("v", stripe(30, 9))}),                  // the first version is kept
		v1(OpDeleteObject, DeleteObject{Bucket: "bk7", Key: "v", VersionID: firstV}), // s/c27 goes
		v1(OpPutObject, PutObject{Object: obj("w", stripe(33, 4), stripe(36, 1))}),
	}
}

// TestStripeKey pins the stripe index key: "s/" then the first shard's
// chunk id, 8 bytes big endian.
func TestStripeKey(t *testing.T) {
	want := append([]byte("s/"), binary.BigEndian.AppendUint64(nil, 0x0102030405060708)...)
	if got := chunkKey("s/", 0x0102030405060708); !bytes.Equal(got, want) {
		t.Fatalf("key %q, want %q", got, want)
	}
}
