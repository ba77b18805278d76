package repair

import (
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/placement"
)

// Membership is a chunk server's registry state, set by operators through
// the replicated state: whether it should hold data at all.
type Membership int

const (
	// Active servers take new replicas.
	Active Membership = iota
	// Draining servers are being emptied before they are retired.
	Draining
	// Decommissioned servers are retired.
	Decommissioned
)

// Health is the one place that combines membership with liveness (heard:
// a heartbeat arrived within the dead-after interval). Retirement wins,
// then silence: a silent server is dead whatever its membership, so a
// draining server that stopped heartbeating is neither counted nor copied
// from. A heard draining server is Draining (a copy source, not a target).
func Health(m Membership, heard bool) placement.State {
	switch {
	case m == Decommissioned:
		return placement.Decommissioned
	case !heard:
		return placement.Dead
	case m == Draining:
		return placement.Draining
	default:
		return placement.Alive
	}
}

// Usable returns, for every server, whether it may serve reads of the
// replicas it holds: alive or draining.
func Usable(servers []placement.Server) map[proto.NodeID]bool {
	out := make(map[proto.NodeID]bool, len(servers))
	for _, sv := range servers {
		out[proto.NodeID(sv.ID)] = usable(sv.State)
	}
	return out
}

func usable(st placement.State) bool {
	return st == placement.Alive || st == placement.Draining
}

// States indexes the servers' states by id.
func States(servers []placement.Server) map[proto.NodeID]placement.State {
	out := make(map[proto.NodeID]placement.State, len(servers))
	for _, sv := range servers {
		out[proto.NodeID(sv.ID)] = sv.State
	}
	return out
}
