package meta

import (
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/granary-store/granary/internal/proto"
)

// BenchmarkApplyAfterPruning: request entries applied after 150,000
// outcomes expired and were pruned, whose deletion markers Badger keeps
// until a compaction drops them. Pruning from the start of it/ walked
// them all every pruneEvery entries: 546 µs per entry here, against
// 25 µs with the floor (2026-11-30).
func BenchmarkApplyAfterPruning(b *testing.B) {
	tf := newTestFSM(b)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	apply := func(at time.Time, n int) {
		for n > 0 {
			k := min(n, 500)
			logs := make([]*raft.Log, k)
			for i := range logs {
				data, _ := EncodeRequest(OpPutObject, at, proto.NewRequestID(at), putInline("k", "v"))
				tf.index++
				logs[i] = &raft.Log{Index: tf.index, Type: raft.LogCommand, Data: data}
			}
			tf.f.ApplyBatch(logs)
			n -= k
		}
	}
	t0 := time.UnixMilli(1_795_000_000_000)
	apply(t0, 150_000)
	later := t0.Add(requestRecordFor + time.Minute)
	apply(later, 40_000) // prunes all 150k
	b.ResetTimer()
	apply(later, b.N)
}
