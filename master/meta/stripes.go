package meta

import (
	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/chunkindex"
)

// StripeRecord is one entry of the stripe index (chunkindex.Stripe; the
// index and its stored format are drawn in package chunkindex).
type StripeRecord = chunkindex.Stripe

// Stripes returns every indexed stripe by its first shard's chunk id.
func (f *FSM) Stripes() (map[proto.ChunkID]StripeRecord, error) {
	return viewed(f, chunkindex.Stripes)
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
		indexed, err := chunkindex.Stripes(txn)
		if err != nil {
			return err
		}
		all, err := chunkindex.Referenced(txn)
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
	return viewed(f, func(txn *badger.Txn) (map[proto.ChunkID]string, error) { return chunkindex.Owners(txn, ids) })
}
