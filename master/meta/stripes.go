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
	f.idxMu.RLock()
	defer f.idxMu.RUnlock()
	return f.idx.Stripes(), nil
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
	f.idxMu.RLock() // before the buckets: they are at least as new as the mirror
	defer f.idxMu.RUnlock()
	buckets, err := f.Buckets()
	if err != nil {
		return nil, nil, err
	}
	target := map[string]int{}
	for _, b := range buckets {
		target[b.Name] = max(b.Replication, 1)
	}
	stripes := map[proto.ChunkID]StripeRecord{}
	shards := map[proto.ChunkID]bool{}
	f.idx.RangeStripes(func(id proto.ChunkID, r StripeRecord) {
		if !f.idx.Referenced(id) {
			return
		}
		stripes[id] = r
		for _, c := range r.Shards {
			shards[c] = true
		}
	})
	refs := map[proto.ChunkID]int{}
	f.idx.RangeRefs(func(id proto.ChunkID, bucket string) {
		if !shards[id] {
			refs[id] = target[bucket]
		}
	})
	return refs, stripes, nil
}

// ChunkOwners returns, for each of ids that an object or part references,
// what references it: "<bucket>/<key>", or "<bucket>/\x00upload/<id>/<part>"
// for a part of an open multipart upload. Unreferenced ids are left out.
func (f *FSM) ChunkOwners(ids []proto.ChunkID) (map[proto.ChunkID]string, error) {
	return viewed(f, func(txn *badger.Txn) (map[proto.ChunkID]string, error) { return chunkindex.Owners(txn, ids) })
}
