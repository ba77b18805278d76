package master

import (
	"reflect"
	"testing"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/repair"
)

// TestReconstructCommands: a planned rebuild reaches its target as a
// reconstruct command with the stripe's cell and data length from the
// index and each source's address; one whose stripe or source address is
// unknown is not sent.
func TestReconstructCommands(t *testing.T) {
	recs := map[proto.ChunkID]meta.StripeRecord{10: {K: 2, M: 1, Cell: 4, Size: 10, Shards: []proto.ChunkID{10, 11, 12}}}
	addrs := map[proto.NodeID]string{"cs1": "h:1", "cs2": "h:2"}
	rs := []repair.Reconstruct{
		{Stripe: 10, K: 2, M: 1, Shard: 1, Chunk: 11, Target: "cs3",
			Sources: []repair.ShardSource{{Shard: 0, Chunk: 10, Server: "cs1"}, {Shard: 2, Chunk: 12, Server: "cs2"}}},
		{Stripe: 99, K: 2, M: 1, Shard: 0, Chunk: 99, Target: "cs3"}, // not in the index
		{Stripe: 10, K: 2, M: 1, Shard: 0, Chunk: 10, Target: "cs4", // a source without an address
			Sources: []repair.ShardSource{{Shard: 1, Chunk: 11, Server: "cs9"}, {Shard: 2, Chunk: 12, Server: "cs2"}}},
	}
	got := reconstructCommands(rs, recs, addrs)
	want := map[proto.NodeID][]proto.Command{"cs3": {{Op: proto.CmdReconstruct, Chunk: 11, Rebuild: &proto.Rebuild{
		K: 2, M: 1, Cell: 4, Length: 10, Shard: 1, Sources: []proto.ShardSource{
			{Shard: 0, Chunk: 10, Source: proto.Target{ID: "cs1", Address: "h:1"}},
			{Shard: 2, Chunk: 12, Source: proto.Target{ID: "cs2", Address: "h:2"}}}}}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("commands %+v\nwant %+v", got, want)
	}
}
