package master

import (
	"context"
	"sync"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/repair"
	"github.com/granary-store/granary/placement"
)

// liveness is the leader's soft state about chunk servers: when each was
// last heard from and what it reported. It is never replicated; a new
// leader rebuilds it from heartbeats. Safe for concurrent use.
type liveness struct {
	mu    sync.Mutex
	nodes map[proto.NodeID]nodeLive
}

type nodeLive struct {
	last time.Time
	hb   proto.HeartbeatRequest
}

func (l *liveness) reset() {
	l.mu.Lock()
	l.nodes = map[proto.NodeID]nodeLive{}
	l.mu.Unlock()
}

func (l *liveness) seen(id proto.NodeID, now time.Time, hb *proto.HeartbeatRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.nodes == nil {
		l.nodes = map[proto.NodeID]nodeLive{}
	}
	n := l.nodes[id]
	n.last = now
	if hb != nil {
		n.hb = *hb
		// The chunk lists went to the replica map; keeping them here would
		// hold a full report per server for nothing.
		n.hb.Report, n.hb.ReportSizes, n.hb.Added, n.hb.AddedSizes, n.hb.Removed = nil, nil, nil, nil, nil
		n.hb.Corrupt, n.hb.Failed = nil, nil
	}
	l.nodes[id] = n
}

// untilNextDeath is how long from now until the first chunk server heard
// from within deadAfter would be declared dead if it stays silent (an
// hour when none is alive).
func (l *liveness) untilNextDeath(now time.Time, deadAfter time.Duration) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	next := time.Hour
	for _, n := range l.nodes {
		if left := n.last.Add(deadAfter).Sub(now); left > 0 && left < next {
			next = left
		}
	}
	return next
}

// nodeView is a registered chunk server as this member sees it: the
// registry record (membership, replicated) and the last heartbeat
// (liveness, soft state), with the health repair.Health derives from both.
// It converts to the status (status) and to placement's input (placement)
// in one place each.
type nodeView struct {
	rec    meta.Node
	heard  bool          // a heartbeat arrived since this member started
	age    time.Duration // since the last heartbeat, when heard
	hb     proto.HeartbeatRequest
	health placement.State
}

// view merges a registry record with soft state at now.
func (l *liveness) view(n meta.Node, now time.Time, deadAfter time.Duration) nodeView {
	l.mu.Lock()
	live, ok := l.nodes[n.ID]
	l.mu.Unlock()
	v := nodeView{rec: n, heard: ok, hb: live.hb}
	if ok {
		v.age = now.Sub(live.last)
	}
	v.health = repair.Health(membership(n.State), ok && v.age < deadAfter)
	return v
}

// membership converts a registry state to repair's.
func membership(state string) repair.Membership {
	switch state {
	case meta.NodeDraining:
		return repair.Draining
	case meta.NodeDecommissioned:
		return repair.Decommissioned
	default:
		return repair.Active
	}
}

// status is the view as the API reports it; State is the health's name
// (alive, draining, dead, decommissioned).
func (v nodeView) status() proto.ChunkServer {
	cs := proto.ChunkServer{ID: v.rec.ID, Address: v.rec.Address, Rack: v.rec.Rack, State: v.health.String(), LastHeartbeatAgeMs: -1}
	if v.heard {
		cs.LastHeartbeatAgeMs = v.age.Milliseconds()
		cs.UsedBytes, cs.CapacityBytes, cs.Chunks = v.hb.UsedBytes, v.hb.CapacityBytes, v.hb.Chunks
		cs.FailedDirs = v.hb.FailedDirs
		cs.ScrubProgress, cs.LastFullScrub, cs.QueuedCommands = v.hb.ScrubProgress, v.hb.LastFullScrub, v.hb.QueuedCommands
	}
	return cs
}

// placement is the view as placement and the repair planner take it.
func (v nodeView) placement() placement.Server {
	return placement.Server{ID: string(v.rec.ID), Rack: v.rec.Rack, Capacity: v.hb.CapacityBytes, Used: v.hb.UsedBytes, State: v.health}
}

// nodes joins the chunk-server registry (membership, replicated) with
// liveness (soft state) into nodeViews, and changes the registry through
// Raft. Safe for concurrent use.
type nodes struct {
	fsm       *meta.FSM
	live      *liveness
	apply     applyFunc
	now       func() time.Time
	deadAfter time.Duration
}

// view is one registered server's view now.
func (ns *nodes) view(n meta.Node) nodeView { return ns.live.view(n, ns.now(), ns.deadAfter) }

// views returns every registered chunk server's view now.
func (ns *nodes) views() ([]nodeView, error) {
	recs, err := ns.fsm.Nodes()
	if err != nil {
		return nil, err
	}
	now := ns.now()
	out := make([]nodeView, 0, len(recs))
	for _, n := range recs {
		out = append(out, ns.live.view(n, now, ns.deadAfter))
	}
	return out, nil
}

// statuses returns every registered chunk server as the API reports it.
func (ns *nodes) statuses() ([]proto.ChunkServer, error) {
	views, err := ns.views()
	if err != nil {
		return nil, err
	}
	out := make([]proto.ChunkServer, 0, len(views))
	for _, v := range views {
		out = append(out, v.status())
	}
	return out, nil
}

// placement returns every registered chunk server as placement and the
// planner take it, and their data-plane addresses.
func (ns *nodes) placement() ([]placement.Server, map[proto.NodeID]string, error) {
	views, err := ns.views()
	if err != nil {
		return nil, nil, err
	}
	servers := make([]placement.Server, 0, len(views))
	addrs := make(map[proto.NodeID]string, len(views))
	for _, v := range views {
		servers = append(servers, v.placement())
		addrs[v.rec.ID] = v.rec.Address
	}
	return servers, addrs, nil
}

// register records a chunk server (validated by the caller) in the
// registry and counts it as heard from now.
func (ns *nodes) register(ctx context.Context, req proto.RegisterRequest) (proto.ChunkServer, error) {
	n := meta.Node{ID: req.ID, Address: req.Address, Rack: req.Rack, Registered: ns.now().UTC().Truncate(time.Millisecond)}
	res, err := ns.apply(ctx, meta.OpRegisterNode, meta.RegisterNode{Node: n})
	if err != nil {
		return proto.ChunkServer{}, err
	}
	ns.live.seen(req.ID, ns.now(), nil)
	return ns.view(res.(meta.Node)).status(), nil
}

// decommission starts draining a chunk server.
func (ns *nodes) decommission(ctx context.Context, id proto.NodeID) error {
	_, err := ns.apply(ctx, meta.OpSetNodeState, meta.SetNodeState{ID: id, State: meta.NodeDraining})
	return err
}
