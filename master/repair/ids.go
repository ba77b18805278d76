package repair

import (
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/placement"
)

// The planner names chunks and servers with proto's ChunkID and NodeID;
// placement, which imports the standard library only, with plain uint64
// and string. The conversions between the two live here and in the few
// struct literals that build placement requests.

// placementIDs converts server ids to placement's.
func placementIDs(ids []proto.NodeID) []string {
	if ids == nil {
		return nil
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

// nodeIDs converts placement's server ids back.
func nodeIDs(ids []string) []proto.NodeID {
	if ids == nil {
		return nil
	}
	out := make([]proto.NodeID, len(ids))
	for i, id := range ids {
		out[i] = proto.NodeID(id)
	}
	return out
}

// chooseSource is placement.ChooseSource in the planner's types.
func chooseSource(servers []placement.Server, holders []proto.NodeID, c proto.ChunkID) (proto.NodeID, error) {
	s, err := placement.ChooseSource(servers, placementIDs(holders), uint64(c))
	return proto.NodeID(s), err
}

// chooseTrim is placement.ChooseTrim in the planner's types.
func chooseTrim(servers []placement.Server, holders []proto.NodeID, target int, c proto.ChunkID) ([]proto.NodeID, error) {
	extra, err := placement.ChooseTrim(servers, placementIDs(holders), target, uint64(c))
	return nodeIDs(extra), err
}
