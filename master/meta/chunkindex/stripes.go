package chunkindex

import (
	"fmt"
	"maps"
	"slices"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/kv"
)

// Stripe is one entry of the stripe index (master/meta's StripeRecord).
type Stripe struct {
	K      int             `json:"k"`
	M      int             `json:"m"`
	Cell   int64           `json:"cell"`
	Size   int64           `json:"size"`
	Shards []proto.ChunkID `json:"shards"`
}

// StripeSet returns the stripes of extents, by first shard (nil extents:
// empty set).
func StripeSet(extents ...[]proto.Extent) map[proto.ChunkID]Stripe {
	set := map[proto.ChunkID]Stripe{}
	for _, es := range extents {
		for _, e := range es {
			if st := e.Stripe; st != nil && len(st.Shards) > 0 {
				set[st.Shards[0]] = Stripe{K: st.K, M: st.M, Cell: st.Cell, Size: e.Length, Shards: st.Shards}
			}
		}
	}
	return set
}

// ObjectStripes returns the stripes of obj (nil obj: empty set).
func ObjectStripes(obj *proto.Object) map[proto.ChunkID]Stripe {
	if obj == nil {
		return nil
	}
	return StripeSet(obj.Extents)
}

// SwapStripes removes the index entries of the stripes only the old set
// has and adds those only the new set has; the caller swaps the shards'
// chunk index entries (Swap) in the same transaction.
func SwapStripes(txn *kv.Txn, oldSet, newSet map[proto.ChunkID]Stripe) error {
	for _, id := range slices.Sorted(maps.Keys(oldSet)) {
		if _, kept := newSet[id]; kept {
			continue
		}
		if err := kv.Del(txn, Key("s/", id)); err != nil {
			return err
		}
		note(txn, op{kind: opUnstripe, id: id})
	}
	for _, id := range slices.Sorted(maps.Keys(newSet)) {
		if _, had := oldSet[id]; had {
			continue
		}
		if err := kv.Put(txn, Key("s/", id), newSet[id]); err != nil {
			return err
		}
		note(txn, op{kind: opStripe, id: id, stripe: newSet[id]})
	}
	return nil
}

// SwapObject swaps the chunk and stripe index entries of an old and a new
// version of an object's chunks (either may be nil), pointing the new ones
// at ref.
func SwapObject(txn *kv.Txn, old, obj *proto.Object, ref string) error {
	if err := Swap(txn, Set(old), Set(obj), ref); err != nil {
		return err
	}
	return SwapStripes(txn, ObjectStripes(old), ObjectStripes(obj))
}

// Stripes returns every indexed stripe by its first shard's chunk id.
func Stripes(txn *kv.Txn) (map[proto.ChunkID]Stripe, error) {
	out := map[proto.ChunkID]Stripe{}
	err := kv.Scan(txn, []byte("s/"), func(k, v []byte) error {
		if len(k) != 10 {
			return kv.Storage(fmt.Errorf("stripe index key %q", k))
		}
		var r Stripe
		if err := kv.Decode(k, v, &r); err != nil {
			return err
		}
		out[idOf(k)] = r
		return nil
	})
	return out, err
}
