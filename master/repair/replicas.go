package repair

import (
	"maps"
	"slices"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/placement"
)

// Replicas splits a chunk's replicas by what they are good for.
type Replicas struct {
	// Counting are good replicas on alive servers: they count toward the
	// replication target.
	Counting []proto.NodeID
	// Sources are good replicas that can be read and copied: on alive or
	// draining servers.
	Sources []proto.NodeID
	// Bad are corrupt replicas on alive servers, deleted once the chunk has
	// its target of good ones.
	Bad []proto.NodeID
}

// Classify splits holders (in their order) by the servers' states; corrupt
// marks the holders known to hold a corrupt copy. A holder of unknown
// state is ignored.
func Classify(holders []proto.NodeID, states map[proto.NodeID]placement.State, corrupt map[proto.NodeID]bool) Replicas {
	var v Replicas
	for _, h := range holders {
		st, known := states[h]
		switch {
		case !known || !usable(st):
		case corrupt[h]:
			if st == placement.Alive {
				v.Bad = append(v.Bad, h)
			}
		case st == placement.Alive:
			v.Counting = append(v.Counting, h)
			v.Sources = append(v.Sources, h)
		case st == placement.Draining:
			v.Sources = append(v.Sources, h)
		}
	}
	return v
}

// Condition is the health of one referenced chunk, as the status and the
// planner see it.
type Condition int

// Conditions of a chunk.
const (
	Healthy Condition = iota
	Missing           // no readable replica anywhere
	Under             // fewer counting replicas than the target
	Over              // more counting replicas than the target
)

// ConditionOf classifies a chunk with target replicas by its replicas.
func ConditionOf(v Replicas, target int) Condition {
	switch {
	case len(v.Sources) == 0 && len(v.Counting) == 0:
		return Missing
	case len(v.Counting) < target:
		return Under
	case len(v.Counting) > target:
		return Over
	}
	return Healthy
}

// Count derives the status counters (Total, Missing, UnderReplicated,
// OverReplicated) of the referenced chunks refs (chunk -> target) from
// the same classification the planner uses.
func Count(refs map[proto.ChunkID]int, holders map[proto.ChunkID][]proto.NodeID, corrupt map[proto.ChunkID]map[proto.NodeID]bool, servers []placement.Server) proto.ChunkCounts {
	states := States(servers)
	c := proto.ChunkCounts{Total: len(refs)}
	for id, target := range refs { // counting: any order will do
		v := Classify(holders[id], states, corrupt[id])
		switch ConditionOf(v, target) {
		case Missing:
			c.Missing++
		case Under:
			c.UnderReplicated++
			if max(len(v.Counting), len(v.Sources)) <= 1 {
				c.LastCopy++
			}
		case Over:
			c.OverReplicated++
		}
	}
	return c
}

// Drained reports whether every chunk the server holds has its target of
// good replicas on alive servers, and every stripe it holds a shard of is
// full without it, so it can be decommissioned.
func Drained(in *Input, server proto.NodeID) bool {
	states := States(in.Servers)
	for _, c := range slices.Sorted(maps.Keys(in.Refs)) {
		if !slices.Contains(in.Holders[c], server) {
			continue
		}
		if len(Classify(in.Holders[c], states, in.Corrupt[c]).Counting) < in.Refs[c] {
			return false
		}
	}
	for _, id := range slices.Sorted(maps.Keys(in.Stripes)) {
		s := in.Stripes[id]
		holds := slices.ContainsFunc(s.Shards, func(c proto.ChunkID) bool { return slices.Contains(in.Holders[c], server) })
		if holds && ClassifyStripe(s, in.Holders, states, in.Corrupt).Condition(s) != StripeFull {
			return false
		}
	}
	return true
}
