package meta

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/granary-store/granary/internal/proto"
)

// BenchmarkPutAfterChurn: chunked PUTs (one chunk each, request ids, in
// batches of 16 as group commit makes them) on a fresh state and after
// rounds of the same keys put, deleted and their chunks' deletion
// acknowledged, as a benchmark run that cleans its bucket between cells
// leaves the state. The markers Badger keeps for deleted keys until a
// compaction drops them are what the later PUTs have to step over.
func BenchmarkPutAfterChurn(b *testing.B) {
	for _, rounds := range []int{0, 8} {
		b.Run(fmt.Sprintf("rounds=%d", rounds), func(b *testing.B) {
			c := newChurn(b)
			for range rounds {
				c.round(20_000)
			}
			b.ResetTimer()
			c.put(b.N)
		})
	}
}

type churn struct {
	tf   *testFSM
	at   time.Time
	next proto.ChunkID // next allocated chunk id not yet used
	end  proto.ChunkID
	keys []string // keys of the objects put since the last clean
	used []proto.ChunkID
}

func newChurn(b *testing.B) *churn {
	tf := newTestFSM(b)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bench"}})
	return &churn{tf: tf, at: time.UnixMilli(1_795_000_000_000)}
}

func (c *churn) chunk() proto.ChunkID {
	c.next++
	return c.next - 1
}

// put commits n chunked objects under the bench's key pattern, 16 per
// batch.
func (c *churn) put(n int) {
	for n > 0 {
		k := min(n, 16)
		if c.end-c.next < proto.ChunkID(k) {
			// Allocate before the batch takes its log indexes.
			c.next = c.tf.mustApply(OpAllocChunks, AllocChunks{Count: 1000}).(proto.ChunkID)
			c.end = c.next + 1000
		}
		logs := make([]*raft.Log, k)
		for i := range logs {
			key := fmt.Sprintf("bench/w%03d/%08d", len(c.keys)%16, len(c.keys)/16)
			id := c.chunk()
			c.keys = append(c.keys, key)
			c.used = append(c.used, id)
			obj := proto.Object{Bucket: "bench", Key: key, Size: 4096, ETag: "e", Modified: c.at,
				Extents: []proto.Extent{{Chunk: id, Length: 4096}}}
			c.at = c.at.Add(time.Millisecond)
			data, err := EncodeRequest(OpPutObject, c.at, proto.NewRequestID(c.at), PutObject{Object: obj})
			if err != nil {
				c.tf.t.Fatal(err)
			}
			c.tf.index++
			logs[i] = &raft.Log{Index: c.tf.index, Type: raft.LogCommand, Data: data}
		}
		for i, r := range c.tf.f.ApplyBatch(logs) {
			if res, ok := r.(Result); !ok || res.Err != nil {
				c.tf.t.Fatalf("put %d: %v", i, r)
			}
		}
		n -= k
	}
}

// round puts n objects, deletes them all and acknowledges their chunks'
// deletion.
func (c *churn) round(n int) {
	c.put(n)
	for _, key := range c.keys {
		c.tf.mustApply(OpDeleteObject, DeleteObject{Bucket: "bench", Key: key})
	}
	for len(c.used) > 0 {
		k := min(len(c.used), 1000)
		c.tf.mustApply(OpAckGCDeletion, AckGCDeletion{Chunks: c.used[:k]})
		c.used = c.used[k:]
	}
	c.keys = c.keys[:0]
}

// TestChunkReuseInOneBatchIsRefused: the check that a committed chunk is
// fresh reads the chunk index from memory and from the batch's own
// changes; a chunk one entry of a batch commits, or frees, is not fresh
// for a later entry of the same batch, nor after the batch, nor once its
// deletion is acknowledged.
func TestChunkReuseInOneBatchIsRefused(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	first := tf.mustApply(OpAllocChunks, AllocChunks{Count: 10}).(proto.ChunkID)
	put := func(key string, id proto.ChunkID) []byte {
		obj := proto.Object{Bucket: "bk1", Key: key, Size: 1, ETag: "e", Extents: []proto.Extent{{Chunk: id, Length: 1}}}
		return mustEncode(t, OpPutObject, PutObject{Object: obj})
	}
	del := func(key string) []byte {
		return mustEncode(t, OpDeleteObject, DeleteObject{Bucket: "bk1", Key: key})
	}
	batch := func(entries ...[]byte) []error {
		logs := make([]*raft.Log, len(entries))
		for i, data := range entries {
			tf.index++
			logs[i] = &raft.Log{Index: tf.index, Type: raft.LogCommand, Data: data}
		}
		var errs []error
		for _, r := range tf.f.ApplyBatch(logs) {
			errs = append(errs, r.(Result).Err)
		}
		return errs
	}
	inUse := func(err error) bool {
		return errors.Is(err, ErrInvalid) && strings.Contains(err.Error(), "already in use")
	}

	errs := batch(put("a", first), put("b", first))
	if errs[0] != nil || !inUse(errs[1]) {
		t.Fatalf("one chunk for two objects in one batch: %v", errs)
	}
	if errs := batch(put("c", first)); !inUse(errs[0]) {
		t.Fatalf("a referenced chunk in the next batch: %v", errs)
	}
	errs = batch(del("a"), put("d", first))
	if errs[0] != nil || !inUse(errs[1]) {
		t.Fatalf("a chunk freed earlier in the batch: %v", errs)
	}
	if errs := batch(put("e", first)); !inUse(errs[0]) {
		t.Fatalf("a chunk queued for deletion: %v", errs)
	}
	tf.mustApply(OpAckGCDeletion, AckGCDeletion{Chunks: []proto.ChunkID{first}})
	if errs := batch(put("f", first)); !inUse(errs[0]) {
		t.Fatalf("a deleted chunk: %v", errs)
	}
	errs = batch(put("g", first+1), del("g"), put("h", first+1))
	if errs[0] != nil || errs[1] != nil || !inUse(errs[2]) {
		t.Fatalf("a chunk committed and freed in the batch: %v", errs)
	}
	if errs := batch(put("i", first+2)); errs[0] != nil {
		t.Fatalf("a fresh chunk: %v", errs)
	}
}
