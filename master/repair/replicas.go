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
		counting, source, bad := role(h, states, corrupt)
		if counting {
			v.Counting = append(v.Counting, h)
		}
		if source {
			v.Sources = append(v.Sources, h)
		}
		if bad {
			v.Bad = append(v.Bad, h)
		}
	}
	return v
}

// role is what one holder's replica is good for (see Replicas).
func role(h proto.NodeID, states map[proto.NodeID]placement.State, corrupt map[proto.NodeID]bool) (counting, source, bad bool) {
	st, known := states[h]
	switch {
	case !known || !usable(st):
	case corrupt[h]:
		bad = st == placement.Alive
	case st == placement.Alive:
		counting, source = true, true
	case st == placement.Draining:
		source = true
	}
	return counting, source, bad
}

// tally is Classify's counts without its lists: all the status counters
// and the planner's first look at every chunk of every round need, with
// no allocation.
type tally struct{ counting, sources, bad int }

func tallyOf(holders []proto.NodeID, states map[proto.NodeID]placement.State, corrupt map[proto.NodeID]bool) tally {
	var t tally
	for _, h := range holders {
		counting, source, bad := role(h, states, corrupt)
		t.counting += b2i(counting)
		t.sources += b2i(source)
		t.bad += b2i(bad)
	}
	return t
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
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
	return tally{counting: len(v.Counting), sources: len(v.Sources), bad: len(v.Bad)}.condition(target)
}

func (t tally) condition(target int) Condition {
	switch {
	case t.sources == 0 && t.counting == 0:
		return Missing
	case t.counting < target:
		return Under
	case t.counting > target:
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
		t := tallyOf(holders[id], states, corrupt[id])
		switch t.condition(target) {
		case Missing:
			c.Missing++
		case Under:
			c.UnderReplicated++
			if max(t.counting, t.sources) <= 1 {
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
		if tallyOf(in.Holders[c], states, in.Corrupt[c]).counting < in.Refs[c] {
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
