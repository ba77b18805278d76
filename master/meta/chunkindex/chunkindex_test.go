package chunkindex

import (
	"errors"
	"fmt"
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

// A state written before x/ keeps finished deletions under g/ as "d".
// Every reader takes them as finished, and MoveTombstones moves them to
// x/ page by page without changing any answer; pending entries stay.
func TestLegacyTombstones(t *testing.T) {
	db := openDB(t)
	legacy := []proto.ChunkID{2, 3, 5, 8, 9}
	pending := []proto.ChunkID{4, 7}
	err := db.Update(func(txn *badger.Txn) error {
		if _, err := Alloc(txn, 10); err != nil {
			return err
		}
		for _, id := range legacy {
			if err := txn.Set(Key("g/", id), []byte("d")); err != nil {
				return err
			}
		}
		for _, id := range pending {
			if err := txn.Set(Key("g/", id), nil); err != nil {
				return err
			}
		}
		return txn.Set(keyGC, []byte{0, 0, 0, 0, 0, 0, 0, 2})
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		t.Helper()
		err := db.View(func(txn *badger.Txn) error {
			if q := Queued(txn); !maps.Equal(q, map[proto.ChunkID]bool{4: true, 7: true}) {
				t.Errorf("%s: queued %v", stage, q)
			}
			d, err := Deleted(txn, []proto.ChunkID{1, 2, 3, 4, 5, 6, 7, 8, 9})
			if err != nil || !maps.Equal(d, map[proto.ChunkID]bool{2: true, 3: true, 5: true, 8: true, 9: true}) {
				t.Errorf("%s: deleted %v, %v", stage, d, err)
			}
			for _, id := range append(slices.Clone(legacy), pending...) {
				if err := CheckFresh(txn, Set(object(id)), nil); !errors.Is(err, metaerr.ErrInvalid) {
					t.Errorf("%s: chunk %d committable: %v", stage, id, err)
				}
			}
			if err := CheckFresh(txn, Set(object(1, 6)), nil); err != nil {
				t.Errorf("%s: fresh chunks refused: %v", stage, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check("before")
	// Collecting or acknowledging a finished deletion changes nothing.
	err = db.Update(func(txn *badger.Txn) error {
		if n, err := CollectOrphans(txn, []proto.ChunkID{2, 3}); err != nil || n != 0 {
			t.Errorf("CollectOrphans of finished deletions: %d, %v", n, err)
		}
		if n, err := AckDeleted(txn, []proto.ChunkID{5}); err != nil || n != 0 {
			t.Errorf("AckDeleted of a finished deletion: %d, %v", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check("after no-ops")

	var pages []int
	from := proto.ChunkID(0)
	for {
		var moved int
		err := db.Update(func(txn *badger.Txn) error {
			var err error
			moved, from, err = MoveTombstones(txn, from, 2)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, moved)
		check(fmt.Sprintf("page %d", len(pages)))
		if from == 0 {
			break
		}
	}
	if !slices.Equal(pages, []int{2, 2, 1}) {
		t.Errorf("moved per page %v, want [2 2 1]", pages)
	}
	var keys []string
	err = db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if k[0] == 'g' || k[0] == 'x' {
				v, _ := it.Item().ValueCopy(nil)
				keys = append(keys, fmt.Sprintf("%c%d=%q", k[0], idOf(k), v))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`g4=""`, `g7=""`, `x2=""`, `x3=""`, `x5=""`, `x8=""`, `x9=""`}
	if !slices.Equal(keys, want) {
		t.Errorf("layout after moving %q, want %q", keys, want)
	}
	err = db.Update(func(txn *badger.Txn) error {
		if n, next, err := MoveTombstones(txn, 0, 2); n != 0 || next != 0 || err != nil {
			t.Errorf("second move: %d %d %v", n, next, err)
		}
		if err := txn.Set(Key("g/", 6), []byte("?")); err != nil {
			return err
		}
		if _, _, err := MoveTombstones(txn, 0, 2); err == nil {
			t.Errorf("a g/ value other than the legacy tombstone moved without an error")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
