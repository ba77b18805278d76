package master

import (
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
	nodes map[string]nodeLive
}

type nodeLive struct {
	last time.Time
	hb   proto.HeartbeatRequest
}

func (l *liveness) reset() {
	l.mu.Lock()
	l.nodes = map[string]nodeLive{}
	l.mu.Unlock()
}

func (l *liveness) seen(id string, now time.Time, hb *proto.HeartbeatRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.nodes == nil {
		l.nodes = map[string]nodeLive{}
	}
	n := l.nodes[id]
	n.last = now
	if hb != nil {
		n.hb = *hb
	}
	l.nodes[id] = n
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
	}
	return cs
}

// placement is the view as placement and the repair planner take it.
func (v nodeView) placement() placement.Server {
	return placement.Server{ID: v.rec.ID, Rack: v.rec.Rack, Capacity: v.hb.CapacityBytes, Used: v.hb.UsedBytes, State: v.health}
}

// nodeViews returns every registered chunk server's view now.
func (s *Server) nodeViews() ([]nodeView, error) {
	nodes, err := s.fsm.Nodes()
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]nodeView, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, s.live.view(n, now, s.cfg.DeadAfter))
	}
	return out, nil
}
