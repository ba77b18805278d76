package placement

import (
	"cmp"
	"slices"
)

// ChunkInfo describes one chunk for PlanBalance.
type ChunkInfo struct {
	// ID is the chunk ID. Chunks whose ID appears more than once are
	// ignored, since their holders are ambiguous.
	ID uint64
	// Size is the chunk's size in bytes; chunks of size <= 0 never move.
	Size int64
	// Holders lists the servers holding a replica. Holders missing from the
	// server list still count towards the chunk's rack spread, each as a
	// rack of its own.
	Holders []string
	// Group, when not zero, makes the chunk one member of a group whose
	// members must stay on distinct servers (the shards of an
	// erasure-coded stripe): a move never goes to a server holding
	// another member, and the rack spread kept is the whole group's.
	Group uint64
}

// Move copies Chunk from server From to server To; once the copy is
// durable, the replica on From is deleted.
type Move struct {
	Chunk    uint64
	From, To string
}

// PlanBalance proposes up to maxMoves moves from over-used to under-used
// servers until every Alive server's usage ratio (Used/Capacity) is within
// threshold of the cluster mean (the mean over Alive servers with capacity),
// or no further move qualifies. It simulates its own moves, so later moves
// see the usage earlier ones cause. Every move:
//
//   - goes from an Alive server holding the chunk to an Alive server not
//     holding it (nor another member of its group), with room below
//     DefaultOptions().FullThreshold;
//   - never lowers the number of distinct racks the chunk's holders (or
//     its group's) span;
//   - involves a server outside the band, and never pushes one server past
//     both the band and the other (so servers in a rack that rack spread
//     keeps above the band are still levelled among themselves);
//   - strictly lowers the capacity-weighted variance of usage ratios, so
//     plans converge and never move data back and forth.
//
// It moves each chunk at most once, prefers the most over-used source, the
// larger chunk and the most under-used target, and gives up on a source
// once none of its chunks can move (plan again after the moves are done).
// It is deterministic: input order does not matter. It returns nil when nothing needs to move and when
// the input is invalid (duplicate or malformed servers, threshold not in
// (0, 1), maxMoves < 1).
func PlanBalance(servers []Server, chunks []ChunkInfo, threshold float64, maxMoves int) []Move {
	if !(threshold > 0 && threshold < 1) || maxMoves < 1 {
		return nil
	}
	r, err := NewRing(servers, DefaultOptions())
	if err != nil {
		return nil
	}
	b := newBalancer(r, chunks, threshold)
	var moves []Move
	for len(moves) < maxMoves {
		m, ok := b.next()
		if !ok {
			break
		}
		moves = append(moves, m)
	}
	return moves
}

// balancer is the simulated cluster state of one PlanBalance call.
type balancer struct {
	r      *Ring
	used   []int64  // simulated Used per server
	member []bool   // Alive with capacity: takes part in balancing
	stuck  []bool   // source with no movable chunk left
	mean   float64  // mean usage ratio of members; moves preserve it
	lo, hi float64  // the band: mean -/+ threshold
	chunks []bchunk // sorted by ID
	on     [][]int  // per server: indices of chunks it holds, largest first
}

// bchunk is a chunk in the simulation.
type bchunk struct {
	id      uint64
	size    int64
	holders []int // server indices; unknown holders are -1
	moved   bool
	group   *[]int // indices in balancer.chunks of the group's members; nil: none
}

func newBalancer(r *Ring, chunks []ChunkInfo, threshold float64) *balancer {
	n := len(r.nodes)
	b := &balancer{r: r, used: make([]int64, n), member: make([]bool, n), stuck: make([]bool, n), on: make([][]int, n)}
	var used, capacity float64
	for i := range r.nodes {
		nd := &r.nodes[i]
		b.used[i] = nd.Used
		b.member[i] = nd.State == Alive && nd.Capacity > 0
		if b.member[i] {
			used += float64(nd.Used)
			capacity += float64(nd.Capacity)
		}
	}
	if capacity > 0 {
		b.mean = used / capacity
	}
	b.lo, b.hi = b.mean-threshold, b.mean+threshold
	b.loadChunks(chunks)
	return b
}

// loadChunks copies the movable chunks, sorted by ID, and indexes them by
// holder.
func (b *balancer) loadChunks(chunks []ChunkInfo) {
	order := make([]int, len(chunks))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return cmp.Compare(chunks[x].ID, chunks[y].ID) })
	groups := map[uint64]*[]int{}
	for k, i := range order {
		c := &chunks[i]
		dup := k > 0 && chunks[order[k-1]].ID == c.ID || k+1 < len(order) && chunks[order[k+1]].ID == c.ID
		if dup || c.Size <= 0 {
			continue
		}
		bc := bchunk{id: c.ID, size: c.Size, holders: make([]int, 0, len(c.Holders))}
		for _, h := range c.Holders {
			j, ok := b.r.byID[h]
			if !ok {
				j = -1
			}
			if j < 0 || !slices.Contains(bc.holders, j) {
				bc.holders = append(bc.holders, j)
			}
		}
		if c.Group != 0 {
			g := groups[c.Group]
			if g == nil {
				g = new([]int)
				groups[c.Group] = g
			}
			*g = append(*g, len(b.chunks))
			bc.group = g
		}
		b.chunks = append(b.chunks, bc)
		for _, j := range bc.holders {
			if j >= 0 {
				b.on[j] = append(b.on[j], len(b.chunks)-1)
			}
		}
	}
	for i := range b.on {
		slices.SortStableFunc(b.on[i], func(x, y int) int { return cmp.Compare(b.chunks[y].size, b.chunks[x].size) })
	}
}

// members returns the chunks whose holders count with ch's: ch alone, or
// every member of its group.
func (b *balancer) members(ch *bchunk) []*bchunk {
	if ch.group == nil {
		return []*bchunk{ch}
	}
	out := make([]*bchunk, 0, len(*ch.group))
	for _, i := range *ch.group {
		out = append(out, &b.chunks[i])
	}
	return out
}

func (b *balancer) ratio(i int) float64 {
	return float64(b.used[i]) / float64(b.r.nodes[i].Capacity)
}
