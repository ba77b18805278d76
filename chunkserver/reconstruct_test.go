package chunkserver

import (
	"errors"
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

// TestRebuildLayoutRefusesBadCommands: a reconstruct command is carried
// out only with a valid layout, a shard in range, data, and exactly K
// distinct other shards to read.
func TestRebuildLayoutRefusesBadCommands(t *testing.T) {
	src := func(shards ...int) []proto.ShardSource {
		var out []proto.ShardSource
		for _, s := range shards {
			out = append(out, proto.ShardSource{Shard: s, Chunk: proto.ChunkID(100 + s)})
		}
		return out
	}
	good := proto.Rebuild{K: 4, M: 2, Cell: 1 << 16, Length: 1 << 20, Shard: 1, Sources: src(0, 2, 3, 5)}
	if l, err := rebuildLayout(&good); err != nil || l.Shards() != 6 {
		t.Fatalf("good command: %v, %v", l, err)
	}
	bad := map[string]func(r *proto.Rebuild){
		"no cell":             func(r *proto.Rebuild) { r.Cell = 0 },
		"no parity":           func(r *proto.Rebuild) { r.M = 0 },
		"shard out of range":  func(r *proto.Rebuild) { r.Shard = 6 },
		"no data":             func(r *proto.Rebuild) { r.Length = 0 },
		"too few sources":     func(r *proto.Rebuild) { r.Sources = src(0, 2, 3) },
		"reads itself":        func(r *proto.Rebuild) { r.Sources = src(0, 1, 2, 3) },
		"a shard twice":       func(r *proto.Rebuild) { r.Sources = src(0, 2, 2, 3) },
		"source out of range": func(r *proto.Rebuild) { r.Sources = src(0, 2, 3, 7) },
	}
	for name, mutate := range bad {
		r := good
		r.Sources = append([]proto.ShardSource(nil), good.Sources...)
		mutate(&r)
		if _, err := rebuildLayout(&r); !errors.Is(err, errBadRebuild) {
			t.Errorf("%s: %v, want errBadRebuild", name, err)
		}
	}
	if _, err := rebuildLayout(nil); !errors.Is(err, errBadRebuild) {
		t.Errorf("no rebuild: %v", err)
	}
}
