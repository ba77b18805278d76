package meta

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/kv"
)

// The stripe index lets the healer list every erasure-coded stripe each
// round without scanning objects. It holds one entry per stripe that an
// object record (current or noncurrent) or an uploaded part references,
// and is written and removed in the same transaction as the chunk index
// entries (c/) of the stripe's shards (swapStripes beside swapChunks):
//
//	s/<first shard chunk id, 8 bytes BE>   format byte 1, then JSON:
//	{"k":4,"m":2,"cell":1048576,"size":4194304,"shards":[11,12,13,14,15,16]}
//
// size is the stripe's data bytes (its extent's Length); shards are the
// K+M chunk ids, data shards first. The key is a stored format (pinned by
// testdata/stripes_*.golden). Erasure-coded extents and this index came in
// together, so no stored state holds a stripe without its entry and there
// is nothing to rebuild when a state without s/ keys is opened.

// StripeRecord is one entry of the stripe index.
type StripeRecord struct {
	K      int             `json:"k"`
	M      int             `json:"m"`
	Cell   int64           `json:"cell"`
	Size   int64           `json:"size"`
	Shards []proto.ChunkID `json:"shards"`
}

// stripeSet returns the stripes of extents, by first shard (nil extents:
// empty set).
func stripeSet(extents ...[]proto.Extent) map[proto.ChunkID]StripeRecord {
	set := map[proto.ChunkID]StripeRecord{}
	for _, es := range extents {
		for _, e := range es {
			if st := e.Stripe; st != nil && len(st.Shards) > 0 {
				set[st.Shards[0]] = StripeRecord{K: st.K, M: st.M, Cell: st.Cell, Size: e.Length, Shards: st.Shards}
			}
		}
	}
	return set
}

// objectStripes returns the stripes of obj (nil obj: empty set).
func objectStripes(obj *proto.Object) map[proto.ChunkID]StripeRecord {
	if obj == nil {
		return nil
	}
	return stripeSet(obj.Extents)
}

// swapStripes removes the index entries of the stripes only the old set
// has and adds those only the new set has; the caller swaps the shards'
// chunk index entries (swapChunks) in the same transaction.
func swapStripes(txn *badger.Txn, oldSet, newSet map[proto.ChunkID]StripeRecord) error {
	for _, id := range slices.Sorted(maps.Keys(oldSet)) {
		if _, kept := newSet[id]; kept {
			continue
		}
		if err := kv.Del(txn, chunkKey("s/", id)); err != nil {
			return err
		}
	}
	for _, id := range slices.Sorted(maps.Keys(newSet)) {
		if _, had := oldSet[id]; had {
			continue
		}
		if err := kv.Put(txn, chunkKey("s/", id), newSet[id]); err != nil {
			return err
		}
	}
	return nil
}

// swapObjectChunks swaps the chunk and stripe index entries of an old
// and a new version of an object's chunks (either may be nil), pointing
// the new ones at ref.
func swapObjectChunks(txn *badger.Txn, old, obj *proto.Object, ref string) error {
	if err := swapChunks(txn, chunkSet(old), chunkSet(obj), ref); err != nil {
		return err
	}
	return swapStripes(txn, objectStripes(old), objectStripes(obj))
}

// Stripes returns every indexed stripe by its first shard's chunk id.
func (f *FSM) Stripes() (map[proto.ChunkID]StripeRecord, error) {
	out := map[proto.ChunkID]StripeRecord{}
	err := scan(f, []byte("s/"), func(k, v []byte) error {
		if len(k) != 10 {
			return kv.Storage(fmt.Errorf("stripe index key %q", k))
		}
		var r StripeRecord
		if err := kv.Decode(k, v, &r); err != nil {
			return err
		}
		out[chunkOfKey(k)] = r
		return nil
	})
	return out, err
}

// ChunkRefs returns every referenced chunk that is not a shard of an
// erasure-coded stripe, with the replication target of the bucket its
// object lives in (RefsAndStripes).
func (f *FSM) ChunkRefs() (map[proto.ChunkID]int, error) {
	refs, _, err := f.RefsAndStripes()
	return refs, err
}

// RefsAndStripes reads, from one snapshot, the referenced chunks that are
// not shards, each with the replication target of its object's bucket,
// and the stripes of the index. Shards are referenced too but belong to
// their stripes, which are repaired as groups, not copied to a target. A
// stripe entry whose first shard no object references any more (one a
// command failed to remove) is left out, so it is never repaired or
// counted missing.
func (f *FSM) RefsAndStripes() (map[proto.ChunkID]int, map[proto.ChunkID]StripeRecord, error) {
	buckets, err := f.Buckets()
	if err != nil {
		return nil, nil, err
	}
	target := map[string]int{}
	for _, b := range buckets {
		target[b.Name] = max(b.Replication, 1)
	}
	refs, stripes := map[proto.ChunkID]int{}, map[proto.ChunkID]StripeRecord{}
	err = f.view(func(txn *badger.Txn) error {
		indexed := map[proto.ChunkID]StripeRecord{}
		err := kv.Scan(txn, []byte("s/"), func(k, v []byte) error {
			if len(k) != 10 {
				return kv.Storage(fmt.Errorf("stripe index key %q", k))
			}
			var r StripeRecord
			if err := kv.Decode(k, v, &r); err != nil {
				return err
			}
			indexed[chunkOfKey(k)] = r
			return nil
		})
		if err != nil {
			return err
		}
		all := map[proto.ChunkID]string{}
		err = kv.Scan(txn, []byte("c/"), func(k, v []byte) error {
			if len(k) != 10 {
				return kv.Storage(fmt.Errorf("chunk index key %q", k))
			}
			bucket, _, _ := strings.Cut(string(v), "/")
			all[chunkOfKey(k)] = bucket
			return nil
		})
		if err != nil {
			return err
		}
		for id, r := range indexed {
			if _, live := all[id]; !live {
				continue
			}
			stripes[id] = r
			for _, c := range r.Shards {
				delete(all, c)
			}
		}
		for id, bucket := range all {
			refs[id] = target[bucket]
		}
		return nil
	})
	return refs, stripes, err
}

// ChunkOwners returns, for each of ids that an object or part references,
// what references it: "<bucket>/<key>", or "<bucket>/\x00upload/<id>/<part>"
// for a part of an open multipart upload. Unreferenced ids are left out.
func (f *FSM) ChunkOwners(ids []proto.ChunkID) (map[proto.ChunkID]string, error) {
	out := map[proto.ChunkID]string{}
	err := f.view(func(txn *badger.Txn) error {
		for _, id := range ids {
			item, err := txn.Get(chunkKey("c/", id))
			if kv.IsNotFound(err) {
				continue
			}
			if err != nil {
				return kv.Storage(err)
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return kv.Storage(err)
			}
			out[id] = string(v)
		}
		return nil
	})
	return out, err
}
