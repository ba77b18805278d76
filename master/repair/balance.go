package repair

import (
	"maps"
	"slices"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/placement"
)

// Unbalanced reports whether the alive servers' usage ratios spread wider
// than threshold.
func Unbalanced(servers []placement.Server, threshold float64) bool {
	lo, hi, n := 2.0, -1.0, 0
	for _, sv := range servers {
		if sv.State != placement.Alive || sv.Capacity <= 0 {
			continue
		}
		r := float64(sv.Used) / float64(sv.Capacity)
		lo, hi, n = min(lo, r), max(hi, r), n+1
	}
	return n > 1 && hi-lo > threshold
}

// Balance plans at most maxMoves moves from full servers to empty ones
// (sizes: chunk -> bytes) and issues their copies: a move is a copy to the
// new server, recorded in in.Inflight; the old replica is deleted by
// FinishMoves only after the copy is reported, so redundancy never drops.
// The shards of full stripes move too, as members of their stripe's group:
// never onto a server holding another shard of it, never narrowing its
// racks. The caller keeps the moves and calls it with no repair work
// outstanding.
func Balance(in *Input, sizes map[proto.ChunkID]int64, threshold float64, maxMoves int) ([]placement.Move, map[proto.NodeID][]proto.Command) {
	var chunks []placement.ChunkInfo
	for _, c := range slices.Sorted(maps.Keys(in.Refs)) {
		chunks = append(chunks, placement.ChunkInfo{ID: uint64(c), Size: sizes[c], Holders: placementIDs(in.Holders[c])})
	}
	states := States(in.Servers)
	for _, id := range slices.Sorted(maps.Keys(in.Stripes)) {
		st := in.Stripes[id]
		if v := ClassifyStripe(st, in.Holders, states, in.Corrupt); v.Condition(st) != StripeFull || v.Healthy != len(st.Shards) {
			continue // a stripe short of a shard is repair's, not balancing's
		}
		for _, c := range st.Shards {
			if len(in.Holders[c]) != 1 {
				continue // an extra replica is being trimmed: leave the shard be
			}
			size := sizes[c]
			if size <= 0 {
				size = in.Sizes[c]
			}
			chunks = append(chunks, placement.ChunkInfo{ID: uint64(c), Size: size, Holders: placementIDs(in.Holders[c]), Group: uint64(id)})
		}
	}
	cmds := map[proto.NodeID][]proto.Command{}
	moves := placement.PlanBalance(in.Servers, chunks, threshold, maxMoves)
	for _, m := range moves {
		c, from, to := proto.ChunkID(m.Chunk), proto.NodeID(m.From), proto.NodeID(m.To) // placement's own ids
		cmds[to] = append(cmds[to], copyCommand(in, c, from))
		in.Inflight.addCopy(c, to, CopyOp{Source: from, At: in.Now, Bytes: sizes[c]})
	}
	batchCommands(in, cmds) // small chunks moving between the same two servers travel together
	return moves, cmds
}

// FinishMoves issues the deletion of the old replica of every move whose
// copy is reported (recorded in in.Inflight), forgets moves whose copy was
// abandoned, and returns the moves still copying.
func FinishMoves(in *Input, moves []placement.Move) ([]placement.Move, map[proto.NodeID][]proto.Command) {
	var keep []placement.Move
	cmds := map[proto.NodeID][]proto.Command{}
	for _, m := range moves {
		c, from, to := proto.ChunkID(m.Chunk), proto.NodeID(m.From), proto.NodeID(m.To) // placement's own ids
		_, copying := in.Inflight.Copies[c][to]
		switch {
		case slices.Contains(in.Holders[c], to):
			cmds[from] = append(cmds[from], proto.Command{Op: proto.CmdDelete, Chunk: c})
			in.Inflight.addDelete(c, from, in.Now)
		case copying:
			keep = append(keep, m)
		}
	}
	return keep, cmds
}
