// Package chunkindex is the replicated state's index of chunks: which
// object (or uploaded part) references each chunk, which chunks are queued
// for deletion, the erasure-coded stripes, and the chunk id allocator. Its
// records (values as in master/meta/kv, ids 8 bytes big endian):
//
//	m/chunkhw          next unallocated chunk id (8-byte counter)
//	m/nchunks, m/ngc   counters of referenced and to-be-deleted chunks
//	c/<chunk id>       "<bucket>/<key>" (or a part's ref) referencing it
//	g/<chunk id>       chunk no object references: delete from disks
//	                   (empty value)
//	x/<chunk id>       chunk gone from every server for good (empty value):
//	                   its id is never committable again
//	s/<chunk id>       Stripe whose first shard it is
//
// g/ holds only pending deletions. The healer reads c/, g/ and s/ from a
// Mirror in memory, not by scanning them. Before x/ (states
// written up to 2026-11-30) a finished deletion stayed under g/ with the
// value "d" (legacyDone). Every reader here takes such an entry as an x/
// one, and MoveTombstones moves them to x/ when a state is opened or
// restored.
//
// The stripe index lets the healer list every erasure-coded stripe each
// round without scanning objects. It holds one entry per stripe that an
// object record (current or noncurrent) or an uploaded part references,
// and is written and removed in the same transaction as the chunk index
// entries (c/) of the stripe's shards (SwapStripes beside Swap):
//
//	s/<first shard chunk id, 8 bytes BE>   format byte 1, then JSON:
//	{"k":4,"m":2,"cell":1048576,"size":4194304,"shards":[11,12,13,14,15,16]}
//
// size is the stripe's data bytes (its extent's Length); shards are the
// K+M chunk ids, data shards first. The key is a stored format (pinned by
// master/meta's testdata/stripes_*.golden). Erasure-coded extents and this
// index came in together, so no stored state holds a stripe without its
// entry and there is nothing to rebuild when a state without s/ keys is
// opened.
//
// master/meta calls these inside its transactions; changes validate and
// read first, then write.
package chunkindex

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/kv"
	"github.com/granary-store/granary/master/meta/metaerr"
)

var (
	keyHW   = []byte("m/chunkhw")
	keyRefs = []byte("m/nchunks")
	keyGC   = []byte("m/ngc")
)

// legacyDone is the g/ value that marked a finished deletion before x/.
var legacyDone = []byte("d")

// Key is the key of chunk id under a 2-byte prefix ("c/", "g/", "x/", "s/").
func Key(prefix string, id proto.ChunkID) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefix), uint64(id))
}

// idOf is the chunk id a Key names.
func idOf(k []byte) proto.ChunkID { return proto.ChunkID(binary.BigEndian.Uint64(k[2:])) }

// Set returns the distinct chunks of obj (nil obj: empty set).
func Set(obj *proto.Object) map[proto.ChunkID]bool {
	set := map[proto.ChunkID]bool{}
	if obj != nil {
		for _, e := range obj.Extents {
			for _, id := range e.Chunks() {
				set[id] = true
			}
		}
	}
	return set
}

// Sorted returns the ids of set, ascending.
func Sorted(set map[proto.ChunkID]bool) []proto.ChunkID {
	return slices.Sorted(maps.Keys(set))
}

// CheckFresh verifies that every chunk in newSet but not in keep was
// allocated and is referenced by no object and not queued for deletion: a
// chunk backs at most one object at a time.
func CheckFresh(txn *kv.Txn, newSet, keep map[proto.ChunkID]bool) error {
	hw, err := kv.Counter(txn, keyHW)
	if err != nil {
		return err
	}
	for _, id := range Sorted(newSet) {
		if keep[id] {
			continue
		}
		if id == 0 || uint64(id) >= hw {
			return fmt.Errorf("chunk %d was never allocated: %w", id, metaerr.ErrInvalid)
		}
		known, err := known(txn, id)
		if err != nil {
			return err
		}
		if known {
			return fmt.Errorf("chunk %d is already in use: %w", id, metaerr.ErrInvalid)
		}
	}
	return nil
}

// known reports whether id is referenced, queued for deletion or deleted
// for good: whether it was ever committed or collected.
func known(txn *kv.Txn, id proto.ChunkID) (bool, error) {
	prefixes := []string{"c/", "g/", "x/"}
	// The mirror holds pending deletions only; a finished one under g/
	// (legacyDone) is moved to x/ whenever a state opens or a snapshot is
	// installed, before any command applies.
	if found, ok := referencedOrQueued(txn, id); ok {
		if found {
			return true, nil
		}
		prefixes = prefixes[2:]
	}
	for _, p := range prefixes {
		found, err := kv.Exists(txn, Key(p, id))
		if err != nil || found {
			return found, err
		}
	}
	return false, nil
}

// Swap points the chunk index at ref for the new chunks and moves chunks
// only the old version used to the deletion queue.
func Swap(txn *kv.Txn, oldSet, newSet map[proto.ChunkID]bool, ref string) error {
	var freed, added int64
	for _, id := range Sorted(oldSet) {
		if newSet[id] {
			continue
		}
		if err := kv.Del(txn, Key("c/", id)); err != nil {
			return err
		}
		if err := kv.SetRaw(txn, Key("g/", id), nil); err != nil {
			return err
		}
		note(txn, op{kind: opUnref, id: id})
		note(txn, op{kind: opQueue, id: id})
		freed++
	}
	for _, id := range Sorted(newSet) {
		if err := kv.SetRaw(txn, Key("c/", id), []byte(ref)); err != nil {
			return err
		}
		note(txn, op{kind: opRef, id: id, ref: ref})
		if !oldSet[id] {
			added++
		}
	}
	if err := kv.AddCounter(txn, keyRefs, added-freed); err != nil {
		return err
	}
	return kv.AddCounter(txn, keyGC, freed)
}

// Alloc allocates count chunk ids and returns the first (0 with an error).
func Alloc(txn *kv.Txn, count uint64) (proto.ChunkID, error) {
	if count == 0 || count > proto.MaxAllocChunks*100 {
		return 0, fmt.Errorf("allocate %d chunk ids: %w", count, metaerr.ErrInvalid)
	}
	first, err := kv.Counter(txn, keyHW)
	if err != nil {
		return 0, err
	}
	if first == 0 {
		first = 1 // chunk id 0 is never used
	}
	return proto.ChunkID(first), kv.SetCounter(txn, keyHW, first+count)
}

// AckDeleted records that no server holds these queued chunks any more and
// returns how many were pending. Each moves from g/ to x/: a freed chunk
// id must never become committable again, or a late commit could point at
// deleted data.
func AckDeleted(txn *kv.Txn, ids []proto.ChunkID) (int64, error) {
	n := int64(0)
	for _, id := range ids {
		pending, err := gcPending(txn, id)
		if err != nil {
			return 0, err
		}
		if pending {
			if err := finish(txn, id); err != nil {
				return 0, err
			}
			n++
		}
	}
	return n, kv.AddCounter(txn, keyGC, -n)
}

// finish moves id's g/ entry to x/.
func finish(txn *kv.Txn, id proto.ChunkID) error {
	if err := kv.Del(txn, Key("g/", id)); err != nil {
		return err
	}
	note(txn, op{kind: opFinish, id: id})
	return kv.SetRaw(txn, Key("x/", id), nil)
}

// gcPending reports whether id is queued for deletion and not yet done
// (an empty g/ value; legacyDone is a finished deletion).
// It reads the value itself: ValueSize is 0 for a value written earlier
// in the same transaction (an earlier entry of one Raft batch), and
// judging by it counted a chunk acknowledged twice in a batch twice.
func gcPending(txn *kv.Txn, id proto.ChunkID) (bool, error) {
	v, ok, err := kv.Raw(txn, Key("g/", id))
	return ok && len(v) == 0, err
}

// CollectOrphans queues for deletion the given chunks that no object
// references and returns how many it queued. Going through Raft makes
// collection safe against a late commit: whichever comes first wins, and
// a commit naming a collected chunk is refused rather than pointing at
// deleted data.
func CollectOrphans(txn *kv.Txn, ids []proto.ChunkID) (int64, error) {
	n := int64(0)
	for _, id := range ids {
		known, err := known(txn, id)
		if err != nil {
			return 0, err
		}
		if known {
			continue
		}
		if err := kv.SetRaw(txn, Key("g/", id), nil); err != nil {
			return 0, err
		}
		note(txn, op{kind: opQueue, id: id})
		n++
	}
	return n, kv.AddCounter(txn, keyGC, n)
}

// Counters returns the number of referenced chunks and pending deletions.
func Counters(txn *kv.Txn) (chunks, pendingDeletes uint64, err error) {
	if chunks, err = kv.Counter(txn, keyRefs); err != nil {
		return 0, 0, err
	}
	pendingDeletes, err = kv.Counter(txn, keyGC)
	return chunks, pendingDeletes, err
}

// Queued returns the chunks queued for deletion and not yet gone (legacy
// tombstones not yet moved to x/ are skipped).
func Queued(txn *kv.Txn) map[proto.ChunkID]bool {
	out := map[proto.ChunkID]bool{}
	kv.ScanKeys(txn, []byte("g/"), func(k []byte, size int64) {
		if len(k) == 10 && size == 0 {
			out[idOf(k)] = true
		}
	})
	return out
}

// Deleted returns which of ids were deleted for good: queued for deletion
// and acknowledged gone from every server then (a tombstone).
func Deleted(txn *kv.Txn, ids []proto.ChunkID) (map[proto.ChunkID]bool, error) {
	out := map[proto.ChunkID]bool{}
	for _, id := range ids {
		done, err := kv.Exists(txn, Key("x/", id))
		if err != nil {
			return out, err
		}
		if !done {
			v, ok, err := kv.Raw(txn, Key("g/", id))
			if err != nil {
				return out, err
			}
			done = ok && len(v) > 0
		}
		if done {
			out[id] = true
		}
	}
	return out, nil
}

// MoveTombstones moves up to limit finished deletions of the layout before
// x/ (g/ entries holding legacyDone) to x/, starting at chunk id from, and
// returns how many it moved and the id to go on from (0 when it reached
// the end of g/). It changes the layout only: every reader here gives the
// same answers before and after, so replicas may move theirs at different
// times.
func MoveTombstones(txn *kv.Txn, from proto.ChunkID, limit int) (moved int, next proto.ChunkID, err error) {
	var ids []proto.ChunkID
	kv.ScanKeysFrom(txn, []byte("g/"), Key("g/", from), func(k []byte, size int64) bool {
		if len(ids) == limit {
			next = idOf(k)
			return false
		}
		if len(k) == 10 && size > 0 {
			ids = append(ids, idOf(k))
		}
		return true
	})
	for _, id := range ids {
		v, ok, err := kv.Raw(txn, Key("g/", id))
		if err != nil {
			return moved, 0, err
		}
		if !ok || !bytes.Equal(v, legacyDone) {
			return moved, 0, kv.Storage(fmt.Errorf("chunk index entry g/%d holds %q", id, v))
		}
		if err := finish(txn, id); err != nil {
			return moved, 0, err
		}
		moved++
	}
	return moved, next, nil
}

// Owners returns, for each of ids that an object or part references, what
// references it. Unreferenced ids are left out.
func Owners(txn *kv.Txn, ids []proto.ChunkID) (map[proto.ChunkID]string, error) {
	out := map[proto.ChunkID]string{}
	for _, id := range ids {
		item, err := txn.Get(Key("c/", id))
		if kv.IsNotFound(err) {
			continue
		}
		if err != nil {
			return out, kv.Storage(err)
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return out, kv.Storage(err)
		}
		out[id] = string(v)
	}
	return out, nil
}

// Referenced returns every referenced chunk with the bucket of what
// references it.
func Referenced(txn *kv.Txn) (map[proto.ChunkID]string, error) {
	all := map[proto.ChunkID]string{}
	err := kv.Scan(txn, []byte("c/"), func(k, v []byte) error {
		if len(k) != 10 {
			return kv.Storage(fmt.Errorf("chunk index key %q", k))
		}
		bucket, _, _ := strings.Cut(string(v), "/")
		all[idOf(k)] = bucket
		return nil
	})
	return all, err
}
