package chunkindex

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/metaerr"
)

func openDB(t *testing.T) *badger.DB {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func object(ids ...proto.ChunkID) *proto.Object {
	o := &proto.Object{Bucket: "bkt", Key: "k"}
	for _, id := range ids {
		o.Extents = append(o.Extents, proto.Extent{Chunk: id, Length: 1})
	}
	return o
}

// TestChunkLifecycle: allocate, reference, free, acknowledge; a freed id
// never becomes committable again.
func TestChunkLifecycle(t *testing.T) {
	db := openDB(t)
	err := db.Update(func(txn *badger.Txn) error {
		first, err := Alloc(txn, 4)
		if err != nil || first != 1 {
			t.Fatalf("Alloc: %d, %v", first, err)
		}
		if _, err := Alloc(txn, 0); !errors.Is(err, metaerr.ErrInvalid) {
			t.Errorf("Alloc(0): %v", err)
		}
		v1, v2 := object(1, 2), object(2, 3)
		if err := CheckFresh(txn, Set(v1), nil); err != nil {
			t.Fatal(err)
		}
		if err := CheckFresh(txn, Set(object(5)), nil); !errors.Is(err, metaerr.ErrInvalid) {
			t.Errorf("unallocated chunk: %v", err)
		}
		if err := SwapObject(txn, nil, v1, "bkt/k"); err != nil {
			t.Fatal(err)
		}
		if err := CheckFresh(txn, Set(object(2)), nil); !errors.Is(err, metaerr.ErrInvalid) {
			t.Errorf("chunk in use: %v", err)
		}
		if err := SwapObject(txn, v1, v2, "bkt/k"); err != nil { // frees 1
			t.Fatal(err)
		}
		refs, gc, err := Counters(txn)
		if err != nil || refs != 2 || gc != 1 {
			t.Fatalf("counters %d %d, %v", refs, gc, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Values written earlier in the same transaction read back without
	// their sizes, so each step commits first.
	err = db.View(func(txn *badger.Txn) error {
		if q := Queued(txn); !maps.Equal(q, map[proto.ChunkID]bool{1: true}) {
			t.Errorf("queued %v", q)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		if n, err := CollectOrphans(txn, []proto.ChunkID{1, 3, 4}); err != nil || n != 1 { // only 4 is an orphan
			t.Errorf("CollectOrphans: %d, %v", n, err)
		}
		if n, err := AckDeleted(txn, []proto.ChunkID{1, 4, 3}); err != nil || n != 2 {
			t.Errorf("AckDeleted: %d, %v", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(txn *badger.Txn) error {
		if d, err := Deleted(txn, []proto.ChunkID{1, 2, 3, 4}); err != nil || !maps.Equal(d, map[proto.ChunkID]bool{1: true, 4: true}) {
			t.Errorf("Deleted: %v, %v", d, err)
		}
		if err := CheckFresh(txn, Set(object(1)), nil); !errors.Is(err, metaerr.ErrInvalid) {
			t.Errorf("deleted chunk committable again: %v", err)
		}
		owners, err := Owners(txn, []proto.ChunkID{1, 2, 3})
		if err != nil || !maps.Equal(owners, map[proto.ChunkID]string{2: "bkt/k", 3: "bkt/k"}) {
			t.Errorf("Owners: %v, %v", owners, err)
		}
		_, gc, _ := Counters(txn)
		if gc != 0 {
			t.Errorf("pending deletes %d after acknowledgement", gc)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStripeIndex: an object's stripes are indexed by first shard and
// dropped with it.
func TestStripeIndex(t *testing.T) {
	db := openDB(t)
	obj := &proto.Object{Bucket: "bkt", Key: "k", Extents: []proto.Extent{{
		Length: 10, Stripe: &proto.Stripe{K: 2, M: 1, Cell: 4, Shards: []proto.ChunkID{7, 8, 9}},
	}}}
	err := db.Update(func(txn *badger.Txn) error {
		if err := SwapObject(txn, nil, obj, "bkt/k"); err != nil {
			return err
		}
		st, err := Stripes(txn)
		want := Stripe{K: 2, M: 1, Cell: 4, Size: 10, Shards: []proto.ChunkID{7, 8, 9}}
		if err != nil || len(st) != 1 || !slices.Equal(st[7].Shards, want.Shards) || st[7].Size != 10 || st[7].K != 2 {
			t.Errorf("stripes %+v, %v", st, err)
		}
		if err := SwapObject(txn, obj, nil, ""); err != nil {
			return err
		}
		if st, _ := Stripes(txn); len(st) != 0 {
			t.Errorf("stripes after removal %+v", st)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Two acknowledgements of one chunk in one transaction (two log entries
// of a Raft batch) count it once: the pending-deletes counter must not
// wrap below zero. Values written earlier in a transaction read back
// without their sizes, so pending is judged by the value's bytes.
func TestAckDeletedTwiceInOneTransaction(t *testing.T) {
	db := openDB(t)
	err := db.Update(func(txn *badger.Txn) error {
		if _, err := Alloc(txn, 4); err != nil {
			t.Fatal(err)
		}
		if n, err := CollectOrphans(txn, []proto.ChunkID{4}); err != nil || n != 1 {
			t.Fatalf("CollectOrphans: %d, %v", n, err)
		}
		if n, err := AckDeleted(txn, []proto.ChunkID{4}); err != nil || n != 1 {
			t.Errorf("first AckDeleted: %d, %v", n, err)
		}
		if n, err := AckDeleted(txn, []proto.ChunkID{4}); err != nil || n != 0 {
			t.Errorf("second AckDeleted: %d, %v", n, err)
		}
		if d, err := Deleted(txn, []proto.ChunkID{4}); err != nil || !d[4] {
			t.Errorf("Deleted in the same transaction: %v, %v", d, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(txn *badger.Txn) error {
		if _, gc, err := Counters(txn); err != nil || gc != 0 {
			t.Errorf("pending deletes %d, %v", gc, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
