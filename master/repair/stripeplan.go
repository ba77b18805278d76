package repair

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/placement"
)

// OpReconstruct is the command op of a shard rebuild: the target reads
// the same rows from K source shards, decodes the missing shard, writes
// it as an ordinary chunk and verifies it.
const OpReconstruct = "reconstruct"

// Reconstruct is one shard rebuild the planner issues: Target rebuilds
// shard Shard (chunk Chunk) of stripe Stripe from the K Sources. The wire
// form (a proto command) is the master's to build.
type Reconstruct struct {
	Stripe  proto.ChunkID
	K, M    int
	Shard   int           // index of the shard rebuilt, 0..K+M-1
	Chunk   proto.ChunkID // chunk ID of that shard
	Size    int64         // shard bytes as the planner counted them
	Target  proto.NodeID
	Sources []ShardSource // exactly K, by shard index
}

// ShardSource is one shard a reconstruct reads, and the server to read it
// from.
type ShardSource struct {
	Shard  int
	Chunk  proto.ChunkID
	Server proto.NodeID
}

// ReconstructOp is a rebuild in flight, recorded in Inflight.Reconstructs
// under the rebuilt shard's chunk ID.
type ReconstructOp struct {
	Stripe  proto.ChunkID
	Target  proto.NodeID
	Sources []proto.NodeID // servers read
	At      time.Time
	Bytes   int64
}

// addReconstruct records a rebuild of chunk c.
func (f *Inflight) addReconstruct(c proto.ChunkID, op ReconstructOp) {
	if f.Reconstructs == nil {
		f.Reconstructs = map[proto.ChunkID]ReconstructOp{}
	}
	f.Reconstructs[c] = op
}

// stripeNeed is a classified stripe of this round.
type stripeNeed struct {
	id proto.ChunkID
	s  Stripe
	v  StripeView
}

// pending reports whether shard i has a copy or rebuild in flight.
func (in *Input) pending(n stripeNeed, i int) bool {
	c := n.s.Shards[i]
	_, rebuilding := in.Inflight.Reconstructs[c]
	return rebuilding || len(in.Inflight.Copies[c]) > 0
}

// todo lists the shards of n that are not healthy and have nothing in
// flight, in shard order.
func (in *Input) todo(n stripeNeed) []int {
	var out []int
	for i := range n.s.Shards {
		if n.v.Server[i] == "" && !in.pending(n, i) {
			out = append(out, i)
		}
	}
	return out
}

// stripeSize is the bytes one shard of a stripe counts for: Stripe.Size,
// else the largest reported shard, else Limits.DefaultSize.
func (in *Input) stripeSize(s Stripe) int64 {
	if s.Size > 0 {
		return s.Size
	}
	var n int64
	for _, c := range s.Shards {
		n = max(n, in.Sizes[c])
	}
	if n > 0 {
		return n
	}
	return in.Limits.DefaultSize
}

// classifyStripes classifies every stripe, records the missing ones, and
// returns the others, least margin first.
func (p *Plan) classifyStripes(in *Input) []stripeNeed {
	states := States(in.Servers)
	var out []stripeNeed
	for _, id := range slices.Sorted(maps.Keys(in.Stripes)) {
		s := in.Stripes[id]
		if len(s.Shards) != s.K+s.M || s.K < 1 || s.M < 1 {
			continue // malformed metadata: nothing safe to do
		}
		v := ClassifyStripe(s, in.Holders, states, in.Corrupt)
		if v.Condition(s) == StripeMissing {
			p.MissingStripes = append(p.MissingStripes, id)
			continue
		}
		out = append(out, stripeNeed{id: id, s: s, v: v})
	}
	slices.SortStableFunc(out, func(a, b stripeNeed) int { return cmp.Compare(a.v.Margin(a.s), b.v.Margin(b.s)) })
	return out
}

// effMargin is a stripe's margin counting the repairs already in flight
// as done: the urgency the next repair of the stripe is ranked by.
func (in *Input) effMargin(n stripeNeed) int {
	m := n.v.Margin(n.s)
	for i := range n.s.Shards {
		if n.v.Server[i] == "" && in.pending(n, i) {
			m++
		}
	}
	return m
}

// repairStripes issues shard repairs, least margin first, for stripes
// whose margin (counting repairs in flight) is at most maxMargin. It
// water-fills the margins: every stripe at margin L gets one repair, which
// lifts it to L+1, before any stripe at L+1 gets one; so every stripe down
// to its last spare shard is repaired before any with two spares left,
// within the per-round and per-server limits. A stripe whose repair cannot
// be issued (no free target or sources) keeps its place and is retried
// next round.
func (p *Plan) repairStripes(in *Input, stripes []stripeNeed, maxMargin int) {
	if len(stripes) == 0 {
		return
	}
	ring, err := placement.NewRing(in.Servers, placement.DefaultOptions())
	if err != nil {
		return
	}
	busy := in.Inflight.busy()
	todo := make([][]int, len(stripes))
	eff := make([]int, len(stripes))
	lowest := maxMargin + 1
	for j, n := range stripes {
		todo[j], eff[j] = in.todo(n), in.effMargin(n)
		if len(todo[j]) > 0 {
			lowest = min(lowest, eff[j])
		}
	}
	for level := lowest; level <= maxMargin && p.work() < in.Limits.PerRound; level++ {
		next := false // a stripe has work at a higher level
		for j, n := range stripes {
			switch {
			case len(todo[j]) == 0 || eff[j] < level: // done, or failed lower: next round
				continue
			case eff[j] > level:
				next = true
				continue
			case p.work() >= in.Limits.PerRound:
				return
			}
			i := todo[j][0]
			todo[j] = todo[j][1:]
			if p.repairShard(in, ring, busy, n, i) {
				eff[j]++
				next = next || len(todo[j]) > 0
			}
		}
		if !next {
			return
		}
	}
}

// repairShard issues the repair of shard i of n: a copy when a draining
// server (or a server counted for another shard) still holds it, a
// reconstruct otherwise. The target never holds a shard of the stripe.
func (p *Plan) repairShard(in *Input, ring *placement.Ring, busy map[proto.NodeID]load, n stripeNeed, i int) bool {
	size := in.stripeSize(n.s)
	chunk := n.s.Shards[i]
	target, ok := p.shardTarget(in, ring, busy, n, i, size)
	if !ok {
		return false
	}
	if len(n.v.Sources[i]) > 0 {
		free := slices.DeleteFunc(slices.Clone(n.v.Sources[i]), func(s proto.NodeID) bool { return in.Limits.full(busy[s], size) })
		if len(free) == 0 {
			return false
		}
		source, err := chooseSource(in.Servers, free, chunk)
		if err != nil {
			return false
		}
		p.Commands[target] = append(p.Commands[target], copyCommand(in, chunk, source))
		in.Inflight.addCopy(chunk, target, CopyOp{Source: source, At: in.Now, Bytes: size})
		busy[target] = busy[target].add(size)
		busy[source] = busy[source].add(size)
		p.Copies++
		return true
	}
	sources := chooseSources(in, busy, n, i, size)
	if len(sources) < n.s.K {
		return false
	}
	r := Reconstruct{Stripe: n.id, K: n.s.K, M: n.s.M, Shard: i, Chunk: chunk, Size: size, Target: target, Sources: sources}
	op := ReconstructOp{Stripe: n.id, Target: target, At: in.Now, Bytes: size}
	busy[target] = busy[target].add(size)
	for _, src := range sources {
		op.Sources = append(op.Sources, src.Server)
		busy[src.Server] = busy[src.Server].add(size)
	}
	in.Inflight.addReconstruct(chunk, op)
	p.Reconstructs = append(p.Reconstructs, r)
	return true
}

// shardTarget picks the server for shard i: never a server holding any
// shard of the stripe or about to receive one. A stripe with margin left
// waits for its best target when that one is busy; one without takes any
// free target. When no server is left at all and the shard has a corrupt
// replica, that replica is deleted so the next round can rebuild the
// shard in its place.
func (p *Plan) shardTarget(in *Input, ring *placement.Ring, busy map[proto.NodeID]load, n stripeNeed, i int, size int64) (proto.NodeID, bool) {
	holders, onlyBad := stripeHolders(n.s, in.Holders, in.Corrupt)
	for _, c := range n.s.Shards {
		holders = append(holders, slices.Sorted(maps.Keys(in.Inflight.Copies[c]))...)
		if op, ok := in.Inflight.Reconstructs[c]; ok {
			holders = append(holders, op.Target)
		}
	}
	// Servers with only corrupt replicas are excluded rather than
	// holders, so their racks count as free: those replicas are going.
	req := placement.ShardRequest{Stripe: uint64(n.id), Count: 1, Holders: placementIDs(holders), Exclude: placementIDs(onlyBad), ShardSize: size}
	ideal, err := ring.ChooseShards(req)
	if err != nil {
		if len(n.v.Bad[i]) > 0 && len(in.Inflight.Deletes[n.s.Shards[i]]) == 0 {
			p.remove(in, n.s.Shards[i], n.v.Bad[i][0])
		}
		return "", false
	}
	if best := proto.NodeID(ideal[0]); !in.Limits.full(busy[best], size) {
		return best, true
	}
	if n.v.Margin(n.s) > 0 {
		return "", false // not urgent: wait for the rack-preserving target
	}
	for _, s := range slices.Sorted(maps.Keys(busy)) {
		if in.Limits.full(busy[s], size) {
			req.Exclude = append(req.Exclude, string(s))
		}
	}
	alt, err := ring.ChooseShards(req)
	if err != nil {
		return "", false
	}
	return proto.NodeID(alt[0]), true
}

// chooseSources picks K shards other than i to read, each from a server
// with room under the limits: healthy shards before ones on draining
// servers, then the least busy server, then the lower shard index. It
// returns fewer than K when the limits leave too few.
func chooseSources(in *Input, busy map[proto.NodeID]load, n stripeNeed, i int, size int64) []ShardSource {
	type cand struct {
		src     ShardSource
		healthy bool
	}
	var cands []cand
	for j, c := range n.s.Shards {
		if j == i || len(n.v.Sources[j]) == 0 {
			continue
		}
		free := slices.DeleteFunc(slices.Clone(n.v.Sources[j]), func(s proto.NodeID) bool { return in.Limits.full(busy[s], size) })
		if len(free) == 0 {
			continue
		}
		server, err := chooseSource(in.Servers, free, c)
		if err != nil {
			continue
		}
		cands = append(cands, cand{ShardSource{Shard: j, Chunk: c, Server: server}, n.v.Server[j] != ""})
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		if a.healthy != b.healthy {
			if a.healthy {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(busy[a.src.Server].n, busy[b.src.Server].n), cmp.Compare(a.src.Shard, b.src.Shard))
	})
	var out []ShardSource
	for _, c := range cands[:min(len(cands), n.s.K)] {
		out = append(out, c.src)
	}
	slices.SortFunc(out, func(a, b ShardSource) int { return cmp.Compare(a.Shard, b.Shard) })
	return out
}

// finishStripes deletes the corrupt and surplus replicas of healthy shards
// with nothing in flight (no deletion either) and not in a balancing move,
// and counts the stripes still waiting for work. A move's old replica is
// FinishMoves' to delete: the surplus replica seen here, during the move
// or while that deletion is on its way, could be the new one, and deleting
// it too would lose the shard.
func (p *Plan) finishStripes(in *Input, stripes []stripeNeed) {
	for _, n := range stripes {
		for i, c := range n.s.Shards {
			if n.v.Server[i] == "" || in.pending(n, i) || in.Moving[c] || len(in.Inflight.Deletes[c]) > 0 {
				continue
			}
			for _, s := range append(slices.Clone(n.v.Bad[i]), n.v.Extra[i]...) {
				p.remove(in, c, s)
			}
		}
		if len(in.todo(n)) > 0 {
			p.QueuedStripes++
		}
	}
}
