package placement

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Ring is a validated, indexed snapshot of a cluster, prepared once so that
// many placement decisions can reuse it. (The name comes from consistent
// hashing; with rendezvous hashing there is no ring of points, only this
// table: see the package doc.)
//
// A Ring is immutable and safe for concurrent use. It copies what it needs
// from the servers passed to NewRing, so it does not see later changes:
// build a new one when servers join, leave, change state or report usage.
// NewRing costs O(N log N) for N servers; each decision costs O(N).
type Ring struct {
	nodes    []node         // sorted by ID; indices are stable tiebreaks
	hot      []hotNode      // parallel to nodes
	byID     map[string]int // ID -> index in nodes
	racks    []string       // distinct rack names, sorted
	rackSize []int          // servers per rack
}

// node is one server as a Ring keeps it.
type node struct {
	Server
	hash  uint64 // hashString(ID)
	rack  int    // index in Ring.racks
	limit int64  // most bytes the server may hold after taking new data
}

// hotNode holds what every placement decision reads for every server,
// packed apart from the rest so the scan stays in cache.
type hotNode struct {
	hash uint64
	inv  float64 // 1 / weight
	room int64   // bytes the server may still take; negative when full
	rack int32
	base reason // request-independent eligibility for new data
}

// NewRing validates servers and prepares them for placement decisions.
// An empty list is valid; every Choose on it fails with ErrNotEnoughServers.
func NewRing(servers []Server, opt Options) (*Ring, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	order := make([]int, len(servers)) // sort indices, not the wide structs
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(servers[a].ID, servers[b].ID) })
	r := &Ring{nodes: make([]node, len(servers)), byID: make(map[string]int, len(servers))}
	for i, j := range order { // validate in ID order: the same error for any input order
		if err := servers[j].validate(); err != nil {
			return nil, err
		}
		if i > 0 && servers[j].ID == r.nodes[i-1].ID {
			return nil, fmt.Errorf("placement: server %q listed twice: %w", servers[j].ID, ErrDuplicateID)
		}
		r.nodes[i].Server = servers[j]
		r.byID[servers[j].ID] = i
	}
	r.indexRacks()
	r.hot = make([]hotNode, len(r.nodes))
	for i := range r.nodes {
		r.nodes[i].hash = hashString(r.nodes[i].ID)
		r.hot[i] = r.nodes[i].prepare(opt)
	}
	return r, nil
}

// indexRacks numbers the racks in name order and counts their servers.
func (r *Ring) indexRacks() {
	index := map[string]int{}
	for i := range r.nodes {
		if _, ok := index[r.nodes[i].Rack]; !ok {
			index[r.nodes[i].Rack] = 0
			r.racks = append(r.racks, r.nodes[i].Rack)
		}
	}
	slices.Sort(r.racks)
	for k, name := range r.racks {
		index[name] = k
	}
	r.rackSize = make([]int, len(r.racks))
	for i := range r.nodes {
		k := index[r.nodes[i].Rack]
		r.nodes[i].rack = k
		r.rackSize[k]++
	}
}

// prepare computes the space limit of n, and its weight, room and base
// eligibility.
func (n *node) prepare(opt Options) hotNode {
	h := hotNode{hash: n.hash, rack: int32(n.rack)}
	n.limit = math.MaxInt64
	if l := opt.FullThreshold * float64(n.Capacity); l < math.MaxInt64 {
		n.limit = int64(l)
	}
	h.room = n.limit - n.Used // no overflow: both are non-negative
	// The explicit conversion forbids a fused multiply-add, whose rounding
	// differs between platforms.
	h.inv = 1 / (float64(n.Capacity) * (1 - float64(opt.LoadBias*n.load())))
	switch {
	case n.State == Dead:
		h.base = reasonDead
	case n.State == Draining:
		h.base = reasonDraining
	case n.State == Decommissioned:
		h.base = reasonDecommissioned
	case n.Capacity == 0:
		h.base = reasonNoCapacity
	case h.room < 0:
		h.base = reasonFull
	}
	return h
}

// Len returns the number of servers in the ring.
func (r *Ring) Len() int { return len(r.nodes) }

// Choose returns Count distinct servers for new replicas of req.Chunk, in
// preference order (the first is the primary, the head of a write
// pipeline). See the package doc for the rules. It fails with
// ErrInvalidRequest, ErrNotEnoughServers or ErrNoSpace.
func (r *Ring) Choose(req Request) ([]string, error) {
	if err := req.validate(); err != nil {
		return nil, err
	}
	picks, eligible, tally := r.choose(&req)
	if picks == nil {
		return nil, shortage(&req, eligible, &tally)
	}
	return picks, nil
}

// choose places a valid request: the picks, or nil with the number of
// eligible servers and the reasons the others were ruled out.
func (r *Ring) choose(req *Request) (picks []string, eligible int, tally [numReasons]int) {
	sel := newSelection(r, min(req.Count, len(r.nodes)))
	marks := r.requestMarks(req, sel.occ)
	ch := chunkHash(req.Chunk, saltPlace)
	for i := range r.hot {
		h := &r.hot[i]
		why := h.base
		switch {
		case marks != nil && marks[i] != reasonOK && (marks[i] == reasonHolder || why == reasonOK || why.spaceReason()):
			why = marks[i] // holder, then state, then excluded, then space
		case why == reasonOK && req.Size > h.room:
			why = reasonNoRoom
		}
		if why != reasonOK {
			tally[why]++
			continue
		}
		sel.offer(int(h.rack), candidate{key: raceKey(pairHash(ch, h.hash), h.inv), node: int32(i)})
	}
	if sel.eligible < req.Count {
		return nil, sel.eligible, tally
	}
	return sel.fill(r, req.Count), sel.eligible, tally
}

// requestMarks marks excluded servers and holders (nil when there are none)
// and counts the Alive holders in each rack into occ.
func (r *Ring) requestMarks(req *Request, occ []int) []reason {
	if len(req.Exclude) == 0 && len(req.Holders) == 0 {
		return nil
	}
	marks := make([]reason, len(r.nodes))
	for _, id := range req.Holders {
		if i, ok := r.byID[id]; ok && marks[i] != reasonHolder {
			marks[i] = reasonHolder
			if r.nodes[i].State == Alive { // other replicas are going away
				occ[r.nodes[i].rack]++
			}
		}
	}
	for _, id := range req.Exclude {
		if i, ok := r.byID[id]; ok && marks[i] == reasonOK {
			marks[i] = reasonExcluded
		}
	}
	return marks
}

// Choose places req on servers; it is NewRing followed by Ring.Choose. A
// caller making many decisions on the same cluster should keep a Ring.
func Choose(servers []Server, req Request, opt Options) ([]string, error) {
	r, err := NewRing(servers, opt)
	if err != nil {
		return nil, err
	}
	return r.Choose(req)
}
