package master

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/placement"
)

// healer is the leader's self-healing state: commands waiting for their
// server's next heartbeat, commands in flight, orphan timers and counters.
// All of it is soft state, reset when leadership changes.
type healer struct {
	mu        sync.Mutex
	since     time.Time // when this member became ready as leader
	outbox    map[string][]proto.Command
	inflight  *inflight
	seen      map[uint64]time.Time // unreferenced chunk -> first seen
	gcSeen    map[uint64]time.Time // queued for deletion -> first seen queued
	renewed   map[uint64]time.Time // allocated or renewed by a writer
	stats     proto.RepairStats
	moves     []placement.Move // balancing moves whose old replica is still to go
	missing   int
	lastAlarm time.Time
}

func (h *healer) reset(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.since = now
	h.outbox = map[string][]proto.Command{}
	h.inflight = newInflight()
	h.seen = map[uint64]time.Time{}
	h.gcSeen = map[uint64]time.Time{}
	h.renewed = map[uint64]time.Time{}
	h.stats = proto.RepairStats{}
	h.moves = nil
}

// renew records that a writer still holds these chunk ids.
func (h *healer) renew(ids []uint64, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.renewed == nil {
		h.renewed = map[uint64]time.Time{}
	}
	for _, id := range ids {
		h.renewed[id] = now
	}
}

// take removes and returns the commands waiting for a server.
func (h *healer) take(server string) []proto.Command {
	h.mu.Lock()
	defer h.mu.Unlock()
	cmds := h.outbox[server]
	delete(h.outbox, server)
	return cmds
}

// failed forgets copies a server could not do, so they are planned again.
func (h *healer) failed(server string, chunks []uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.inflight == nil {
		return
	}
	for _, c := range chunks {
		delete(h.inflight.copies[c], server)
	}
}

// safeMode reports whether the leader must not repair or delete yet: until
// the live servers have sent full reports, or SafeModeTimeout has passed
// since it became leader. For the first DeadAfter every registered server
// counts as live (a silent one may just not have heartbeated yet); after
// that only those heard from do.
func (s *Server) safeMode() (bool, string) {
	if !s.IsLeader() {
		return true, "not the ready leader"
	}
	s.heal.mu.Lock()
	since := s.heal.since
	s.heal.mu.Unlock()
	if s.now().Sub(since) >= s.cfg.SafeModeTimeout {
		return false, ""
	}
	nodes, err := s.fsm.nodes()
	if err != nil {
		return true, err.Error()
	}
	settled := s.now().Sub(since) >= s.cfg.DeadAfter
	waiting := 0
	for _, n := range nodes {
		if n.State == nodeDecommissioned || s.replicas.hasReported(n.ID) {
			continue
		}
		if !settled || s.live.describe(n, s.now(), s.cfg.DeadAfter).State != "dead" {
			waiting++
		}
	}
	if waiting > 0 {
		return true, fmt.Sprintf("waiting for %d chunk servers to report (at most %v)", waiting, s.cfg.SafeModeTimeout)
	}
	return false, ""
}

// kickRepair asks for a repair round soon (a copy finished or failed, so
// a slot is free), without waiting for the ticker.
func (s *Server) kickRepair() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// healLoop runs repair rounds while this member leads: every
// RepairInterval, and when kicked, but never closer than a tenth of it.
func (s *Server) healLoop() {
	tick := time.NewTicker(s.cfg.RepairInterval)
	defer tick.Stop()
	gap := s.cfg.RepairInterval / 10
	for {
		select {
		case <-s.done:
			return
		case <-tick.C:
		case <-s.kick:
		}
		select {
		case <-s.done:
			return
		case <-time.After(gap):
		}
		if safe, _ := s.safeMode(); safe {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ApplyTimeout)
		if err := s.RepairOnce(ctx); err != nil {
			s.log.Warn("repair round", "err", err)
		}
		cancel()
	}
}

// RepairOnce runs one planning round now: it queues copy and delete
// commands for the servers' next heartbeats, acknowledges finished
// deletions and moves expired orphans to the deletion queue. Tests call it
// to trigger work without waiting for the ticker. It does nothing in safe
// mode.
func (s *Server) RepairOnce(ctx context.Context) error {
	if safe, why := s.safeMode(); safe {
		return fmt.Errorf("master: repair: safe mode: %s: %w", why, ErrNotLeader)
	}
	in, err := s.planInput()
	if err != nil {
		return err
	}
	s.heal.mu.Lock()
	in.inflight = s.heal.inflight
	s.heal.stats.CopiesDone += int64(in.inflight.expire(in))
	in.moving = map[uint64]bool{}
	for _, m := range s.heal.moves {
		in.moving[m.Chunk] = true
	}
	p := makePlan(in)
	s.finishMoves(in)
	for server, cmds := range p.commands {
		s.heal.outbox[server] = append(s.heal.outbox[server], cmds...)
	}
	s.heal.stats.CopiesIssued += int64(p.copies)
	s.heal.stats.DeletesIssued += int64(p.deletes)
	s.heal.stats.QueuedCopies = p.queued
	s.heal.stats.OrphansFound += int64(len(p.collect))
	s.heal.missing = len(p.missing)
	alarm := len(p.missing) > 0 && s.now().Sub(s.heal.lastAlarm) > time.Minute
	if alarm {
		s.heal.lastAlarm = s.now()
	}
	s.heal.mu.Unlock()
	if alarm {
		s.log.Error("chunks with no readable replica: data is unavailable until a holder returns",
			"missing", len(p.missing), "first", p.missing[:min(len(p.missing), 10)])
	}
	if err := s.commitGC(ctx, p); err != nil {
		return err
	}
	if err := s.finishDrains(ctx, in); err != nil {
		return err
	}
	if p.queued == 0 && p.copies == 0 && len(in.inflight.copies) == 0 {
		return s.balance(in)
	}
	return nil
}

// finishDrains marks draining servers decommissioned once every chunk they
// hold has its target of good replicas on live servers elsewhere.
func (s *Server) finishDrains(ctx context.Context, in *planInput) error {
	states := map[string]placement.State{}
	for _, sv := range in.servers {
		states[sv.ID] = sv.State
	}
	for _, sv := range in.servers {
		if sv.State != placement.Draining || !s.replicas.hasReported(sv.ID) {
			continue
		}
		drained := true
		for c, target := range in.refs {
			if !slices.Contains(in.holders[c], sv.ID) {
				continue
			}
			if len(classify(in, states, c).alive) < target {
				drained = false
				break
			}
		}
		if !drained {
			continue
		}
		if _, err := s.apply(ctx, opSetNodeState, cmdSetNodeState{ID: sv.ID, State: nodeDecommissioned}); err != nil {
			return err
		}
		s.log.Info("chunk server drained and decommissioned", "server", sv.ID)
	}
	return nil
}

// commitGC records finished deletions and collected orphans in Raft.
func (s *Server) commitGC(ctx context.Context, p plan) error {
	if len(p.gcDone) > 0 {
		if _, err := s.apply(ctx, opAckGCDeletion, cmdAckGCDeletion{Chunks: p.gcDone}); err != nil {
			return err
		}
	}
	if len(p.collect) > 0 {
		n, err := s.apply(ctx, opCollectOrphans, cmdCollectOrphans{Chunks: p.collect})
		if err != nil {
			return err
		}
		s.log.Info("collected orphan chunks", "count", n, "first", p.collect[0])
	}
	return nil
}

// planInput snapshots the state the planner needs.
func (s *Server) planInput() (*planInput, error) {
	refs, err := s.fsm.chunkRefs()
	if err != nil {
		return nil, err
	}
	gc, err := s.fsm.gcChunks()
	if err != nil {
		return nil, err
	}
	servers, addrs, err := s.placementView()
	if err != nil {
		return nil, err
	}
	now := s.now()
	in := &planInput{
		now: now, refs: refs, gc: gc, servers: servers, addrs: addrs,
		limits: repairLimits{
			perServer: s.cfg.MaxRepairPerServer, perRound: s.cfg.MaxRepairPerRound,
			deletes: s.cfg.MaxDeletesPerRound, timeout: s.cfg.CommandTimeout,
		},
	}
	in.holders, in.corrupt = s.replicas.snapshot()
	in.orphanAt = s.orphanTimers(in, gc, now)
	in.gc = s.deletable(gc, now)
	return in, nil
}

// deletable keeps the queued chunks that have waited GCDelay since this
// leader first saw them queued, so reads of a version that was just
// overwritten or deleted can finish (lazy deletion, as in GFS).
func (s *Server) deletable(gc map[uint64]bool, now time.Time) map[uint64]bool {
	s.heal.mu.Lock()
	defer s.heal.mu.Unlock()
	out := map[uint64]bool{}
	for c := range gc {
		first, ok := s.heal.gcSeen[c]
		if !ok {
			first = now
			s.heal.gcSeen[c] = now
		}
		if now.Sub(first) >= s.cfg.GCDelay {
			out[c] = true
		}
	}
	for c := range s.heal.gcSeen {
		if !gc[c] {
			delete(s.heal.gcSeen, c)
		}
	}
	return out
}

// orphanTimers returns, for every reported chunk that no object references
// and that is not queued for deletion, when it may be collected: a grace
// period after it was first seen or last renewed by a writer.
func (s *Server) orphanTimers(in *planInput, queued map[uint64]bool, now time.Time) map[uint64]time.Time {
	s.heal.mu.Lock()
	defer s.heal.mu.Unlock()
	out := map[uint64]time.Time{}
	for _, c := range slices.Sorted(maps.Keys(in.holders)) {
		if _, ref := in.refs[c]; ref || queued[c] {
			delete(s.heal.seen, c)
			continue
		}
		first, ok := s.heal.seen[c]
		if !ok {
			first = now
			s.heal.seen[c] = now
		}
		if r, ok := s.heal.renewed[c]; ok && r.After(first) {
			first = r
		}
		out[c] = first.Add(s.cfg.OrphanGrace)
	}
	for c, at := range s.heal.renewed { // forget renewals long past
		if now.Sub(at) > 2*s.cfg.OrphanGrace {
			delete(s.heal.renewed, c)
		}
	}
	return out
}

// repairStats returns the counters for the status.
func (s *Server) repairStats() proto.RepairStats {
	s.heal.mu.Lock()
	defer s.heal.mu.Unlock()
	st := s.heal.stats
	if s.heal.inflight != nil {
		for _, t := range s.heal.inflight.copies {
			st.InflightCopies += len(t)
		}
		for _, d := range s.heal.inflight.deletes {
			st.InflightDeletes += len(d)
		}
	}
	return st
}
