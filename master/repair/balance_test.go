package repair

import (
	"slices"
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

// TestBalanceMovesShardsSafely: a full rs-2-1 stripe on three full servers
// has its shards moved to empty ones, never two onto one server, and once
// a copy is reported the planner leaves both replicas alone until
// FinishMoves deletes the old one (the surplus replica it would otherwise
// trim could be the new one).
func TestBalanceMovesShardsSafely(t *testing.T) {
	in := planCluster(5, 5)
	for i := range in.Servers {
		if i < 3 {
			in.Servers[i].Used = in.Servers[i].Capacity / 2
		}
	}
	in.Sizes = map[proto.ChunkID]int64{}
	st := Stripe{K: 2, M: 1, Shards: []proto.ChunkID{11, 12, 13}}
	in.Stripes = map[proto.ChunkID]Stripe{11: st}
	for i, c := range st.Shards {
		in.Holders[c] = []proto.NodeID{proto.NodeID(in.Servers[i].ID)}
		in.Sizes[c] = in.Servers[i].Capacity / 4
	}
	moves, cmds := Balance(in, map[proto.ChunkID]int64{}, 0.1, 10)
	if len(moves) == 0 {
		t.Fatal("no shard moved to the empty servers")
	}
	to := map[string]bool{}
	for _, m := range moves {
		if to[m.To] || slices.Contains([]string{"n1", "n2", "n3"}, m.To) {
			t.Fatalf("moves %+v put two shards of the stripe on one server", moves)
		}
		to[m.To] = true
		if tc := cmds[proto.NodeID(m.To)]; len(tc) == 0 || tc[0].Op != proto.CmdCopy {
			t.Fatalf("move %+v issued no copy to its target: %+v", m, cmds)
		}
	}
	// The first move's copy is reported: the shard is on both servers.
	m := moves[0]
	from, to1 := proto.NodeID(m.From), proto.NodeID(m.To)
	in.Holders[proto.ChunkID(m.Chunk)] = []proto.NodeID{from, to1}
	delete(in.Inflight.Copies[proto.ChunkID(m.Chunk)], to1)
	in.Moving = map[proto.ChunkID]bool{}
	for _, mv := range moves {
		in.Moving[proto.ChunkID(mv.Chunk)] = true
	}
	p := MakePlan(in)
	for srv, cs := range p.Commands {
		for _, c := range cs {
			if c.Op == proto.CmdDelete && c.Chunk == proto.ChunkID(m.Chunk) {
				t.Fatalf("the planner deletes the moving shard %d on %s", proto.ChunkID(m.Chunk), srv)
			}
		}
	}
	_, del := FinishMoves(in, moves)
	if got := del[from]; len(got) != 1 || got[0].Op != proto.CmdDelete || got[0].Chunk != proto.ChunkID(m.Chunk) {
		t.Fatalf("FinishMoves: %+v, want the old replica on %s deleted", del, m.From)
	}
	if len(del[to1]) != 0 {
		t.Fatalf("FinishMoves deletes the new replica: %+v", del)
	}
	// The move is over, its deletion not yet reported: the shard is still
	// on both servers, and the planner must not delete the new replica.
	delete(in.Moving, proto.ChunkID(m.Chunk))
	p = MakePlan(in)
	for srv, cs := range p.Commands {
		for _, c := range cs {
			if c.Op == proto.CmdDelete && c.Chunk == proto.ChunkID(m.Chunk) {
				t.Fatalf("with the old replica's deletion in flight, the planner deletes shard %d on %s too", proto.ChunkID(m.Chunk), srv)
			}
		}
	}
}

// The copies of balancing moves between the same two servers travel in
// batches, each chunk still a move and a copy in flight of its own.
func TestBalanceBatchesMoves(t *testing.T) {
	in := planCluster(4, 2)
	in.Servers[0].Used, in.Servers[1].Used = in.Servers[0].Capacity/2, in.Servers[1].Capacity/2
	in.Limits.Batch = 8
	sizes := map[proto.ChunkID]int64{}
	for c := proto.ChunkID(1); c <= 60; c++ {
		in.Refs[c], in.Holders[c], sizes[c] = 2, []proto.NodeID{"n1", "n2"}, 1<<30
	}
	in.Sizes = sizes
	moves, cmds := Balance(in, sizes, 0.1, 40)
	pairs := map[[2]proto.NodeID]int{}
	for _, m := range moves {
		pairs[[2]proto.NodeID{proto.NodeID(m.From), proto.NodeID(m.To)}]++
	}
	want := 0
	for _, n := range pairs {
		want += (n + 7) / 8
	}
	got, chunks := 0, 0
	for to, list := range cmds {
		for _, c := range list {
			got++
			for _, id := range append([]proto.ChunkID{c.Chunk}, c.More...) {
				chunks++
				if _, ok := in.Inflight.Copies[id][to]; !ok || in.Inflight.Copies[id][to].Source != c.Source.ID {
					t.Errorf("chunk %d to %s from %s: not a move in flight", id, to, c.Source.ID)
				}
			}
		}
	}
	if len(moves) < 9 || got != want || chunks != len(moves) {
		t.Fatalf("%d moves over %d server pairs went out as %d commands of %d chunks, want %d commands", len(moves), len(pairs), got, chunks, want)
	}
}
