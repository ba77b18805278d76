package repair

import (
	"fmt"
	"maps"
	"slices"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/placement"
)

// Stripe is one erasure-coded stripe as the metadata knows it: K data and
// M parity shards, each an ordinary chunk. The shard chunks of a stripe
// are not in Input.Refs: the planner treats the stripe as one group.
type Stripe struct {
	K, M int
	// Shards holds the chunk ID of shard i at index i; len K+M.
	Shards []proto.ChunkID
	// Size is the bytes of one shard (its longest); 0 means the largest
	// size reported in Input.Sizes for its shards, else
	// Limits.DefaultSize.
	Size int64
}

// StripeCondition is the health of one stripe.
type StripeCondition int

// Conditions of a stripe.
const (
	// StripeFull: all K+M shards healthy on K+M distinct alive servers.
	StripeFull StripeCondition = iota
	// StripeDegraded: fewer than K+M healthy shards, but at least K
	// readable ones, so every lost shard can be rebuilt.
	StripeDegraded
	// StripeMissing: fewer than K readable shards; the data is gone
	// until servers come back.
	StripeMissing
)

var stripeConditionNames = [...]string{"full", "degraded", "missing"}

// String is "full", "degraded" or "missing".
func (c StripeCondition) String() string {
	if c >= 0 && int(c) < len(stripeConditionNames) {
		return stripeConditionNames[c]
	}
	return fmt.Sprintf("StripeCondition(%d)", int(c))
}

// StripeView splits a stripe's shard replicas by what they are good for,
// shard by shard (every slice is indexed by shard).
type StripeView struct {
	// Server is the alive server a healthy shard is counted on, or "" for
	// a shard that is not healthy. No server is counted for two shards: a
	// second shard on the same server is not healthy there.
	Server []proto.NodeID
	// Sources are the good replicas of a shard that can be read: on alive
	// or draining servers. A reconstruct reads its K sources from these.
	Sources [][]proto.NodeID
	// Bad are corrupt replicas on alive servers.
	Bad [][]proto.NodeID
	// Extra are good replicas on alive servers beyond the counted one
	// (left over by a finished move, or a second shard on one server).
	Extra [][]proto.NodeID
	// Healthy counts shards with a Server; Readable counts shards with a
	// source; Draining counts shards readable only on draining servers
	// (or only on a server counted for another shard): they are moved by
	// a plain copy rather than rebuilt.
	Healthy, Readable, Draining int
	// Corrupt counts shards that are not readable but have a corrupt
	// replica.
	Corrupt int
}

// ClassifyStripe classifies a stripe's shards by the servers' states and
// the corrupt marks (chunk -> server -> corrupt). Holders of unknown state
// are ignored.
func ClassifyStripe(s Stripe, holders map[proto.ChunkID][]proto.NodeID, states map[proto.NodeID]placement.State, corrupt map[proto.ChunkID]map[proto.NodeID]bool) StripeView {
	n := len(s.Shards)
	v := StripeView{Server: make([]proto.NodeID, n), Sources: make([][]proto.NodeID, n), Bad: make([][]proto.NodeID, n), Extra: make([][]proto.NodeID, n)}
	used := map[proto.NodeID]bool{}
	for i, c := range s.Shards {
		hs := slices.Sorted(slices.Values(holders[c]))
		for _, h := range hs {
			st, known := states[h]
			switch {
			case !known || !usable(st):
			case corrupt[c][h]:
				if st == placement.Alive {
					v.Bad[i] = append(v.Bad[i], h)
				}
			case st == placement.Draining:
				v.Sources[i] = append(v.Sources[i], h)
			case v.Server[i] == "" && !used[h]:
				v.Server[i] = h
				used[h] = true
				v.Sources[i] = append(v.Sources[i], h)
			default:
				v.Extra[i] = append(v.Extra[i], h)
				v.Sources[i] = append(v.Sources[i], h)
			}
		}
		switch {
		case v.Server[i] != "":
			v.Healthy++
			v.Readable++
		case len(v.Sources[i]) > 0:
			v.Readable++
			v.Draining++
		case len(v.Bad[i]) > 0:
			v.Corrupt++
		}
	}
	return v
}

// Condition classifies the stripe by its view.
func (v StripeView) Condition(s Stripe) StripeCondition {
	switch {
	case v.Readable < s.K:
		return StripeMissing
	case v.Healthy < s.K+s.M:
		return StripeDegraded
	}
	return StripeFull
}

// Margin is how many more shards the stripe can lose and still be read:
// healthy shards beyond K (negative when it leans on draining servers).
func (v StripeView) Margin(s Stripe) int { return v.Healthy - s.K }

// stripeHolders lists the servers that hold a good replica of any shard
// of s, in any state, and apart from them the servers that hold only
// corrupt replicas of its shards. None of them may take another shard.
func stripeHolders(s Stripe, holders map[proto.ChunkID][]proto.NodeID, corrupt map[proto.ChunkID]map[proto.NodeID]bool) (good, onlyBad []proto.NodeID) {
	set := map[proto.NodeID]bool{} // server -> holds a good replica
	for _, c := range s.Shards {
		for _, h := range holders[c] {
			set[h] = set[h] || !corrupt[c][h]
		}
	}
	for _, h := range slices.Sorted(maps.Keys(set)) {
		if set[h] {
			good = append(good, h)
		} else {
			onlyBad = append(onlyBad, h)
		}
	}
	return good, onlyBad
}

// StripeCounts are the status counters of erasure-coded stripes.
type StripeCounts struct {
	Total    int // stripes
	Degraded int // at least K readable but fewer than K+M healthy shards
	Missing  int // fewer than K readable shards
	// LastShard counts the degraded stripes with no margin left: exactly
	// K healthy shards (or fewer, leaning on draining servers).
	LastShard int
	// Corrupt counts the stripes with at least one corrupt shard replica.
	Corrupt int
}

// CountStripes derives the status counters of stripes (stripe ID ->
// stripe) from the same classification the planner uses.
func CountStripes(stripes map[proto.ChunkID]Stripe, holders map[proto.ChunkID][]proto.NodeID, corrupt map[proto.ChunkID]map[proto.NodeID]bool, servers []placement.Server) StripeCounts {
	states := States(servers)
	c := StripeCounts{Total: len(stripes)}
	for _, id := range slices.Sorted(maps.Keys(stripes)) {
		s := stripes[id]
		v := ClassifyStripe(s, holders, states, corrupt)
		switch v.Condition(s) {
		case StripeMissing:
			c.Missing++
		case StripeDegraded:
			c.Degraded++
			if v.Margin(s) <= 0 {
				c.LastShard++
			}
		}
		if slices.ContainsFunc(v.Bad, func(b []proto.NodeID) bool { return len(b) > 0 }) {
			c.Corrupt++
		}
	}
	return c
}
