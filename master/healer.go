package master

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/repair"
	"github.com/granary-store/granary/placement"
)

// healer is the leader's self-healing state: commands waiting for their
// server's next heartbeat, commands in flight, orphan timers and counters.
// All of it is soft state, reset when leadership changes.
type healer struct {
	mu        sync.Mutex
	since     time.Time // when this member became ready as leader
	outbox    map[string][]proto.Command
	inflight  *repair.Inflight
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
	h.inflight = repair.NewInflight()
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
		delete(h.inflight.Copies[c], server)
	}
}

// send queues commands for their servers' next heartbeats. The caller
// holds h.mu.
func (h *healer) send(cmds map[string][]proto.Command) {
	for server, c := range cmds {
		h.outbox[server] = append(h.outbox[server], c...)
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
	nodes, err := s.fsm.Nodes()
	if err != nil {
		return true, err.Error()
	}
	settled := s.now().Sub(since) >= s.cfg.DeadAfter
	waiting := 0
	for _, n := range nodes {
		if n.State == meta.NodeDecommissioned || s.replicas.hasReported(n.ID) {
			continue
		}
		if !settled || s.live.view(n, s.now(), s.cfg.DeadAfter).health != placement.Dead {
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
	in.Inflight = s.heal.inflight
	s.heal.stats.CopiesDone += int64(in.Inflight.Expire(in))
	in.Moving = map[uint64]bool{}
	for _, m := range s.heal.moves {
		in.Moving[m.Chunk] = true
	}
	p := repair.MakePlan(in)
	s.finishMoves(in)
	s.heal.send(p.Commands)
	s.heal.stats.CopiesIssued += int64(p.Copies)
	s.heal.stats.DeletesIssued += int64(p.Deletes)
	s.heal.stats.QueuedCopies = p.Queued
	s.heal.stats.OrphansFound += int64(len(p.Collect))
	s.heal.missing = len(p.Missing)
	alarm := len(p.Missing) > 0 && s.now().Sub(s.heal.lastAlarm) > time.Minute
	if alarm {
		s.heal.lastAlarm = s.now()
	}
	s.heal.mu.Unlock()
	if alarm {
		s.log.Error("chunks with no readable replica: data is unavailable until a holder returns",
			"missing", len(p.Missing), "first", p.Missing[:min(len(p.Missing), 10)])
	}
	if err := s.commitGC(ctx, p); err != nil {
		return err
	}
	if err := s.finishDrains(ctx, in); err != nil {
		return err
	}
	if p.Queued == 0 && p.Copies == 0 && len(in.Inflight.Copies) == 0 {
		return s.balance(in)
	}
	return nil
}

// finishDrains marks draining servers decommissioned once every chunk they
// hold has its target of good replicas on live servers elsewhere.
func (s *Server) finishDrains(ctx context.Context, in *repair.Input) error {
	for _, sv := range in.Servers {
		if sv.State != placement.Draining || !s.replicas.hasReported(sv.ID) || !repair.Drained(in, sv.ID) {
			continue
		}
		if _, err := s.apply(ctx, meta.OpSetNodeState, meta.SetNodeState{ID: sv.ID, State: meta.NodeDecommissioned}); err != nil {
			return err
		}
		s.log.Info("chunk server drained and decommissioned", "server", sv.ID)
	}
	return nil
}

// commitGC records finished deletions and collected orphans in Raft.
func (s *Server) commitGC(ctx context.Context, p repair.Plan) error {
	if len(p.GCDone) > 0 {
		if _, err := s.apply(ctx, meta.OpAckGCDeletion, meta.AckGCDeletion{Chunks: p.GCDone}); err != nil {
			return err
		}
	}
	if len(p.Collect) > 0 {
		n, err := s.apply(ctx, meta.OpCollectOrphans, meta.CollectOrphans{Chunks: p.Collect})
		if err != nil {
			return err
		}
		s.log.Info("collected orphan chunks", "count", n, "first", p.Collect[0])
	}
	return nil
}

// planInput snapshots the state the planner needs.
func (s *Server) planInput() (*repair.Input, error) {
	refs, err := s.fsm.ChunkRefs()
	if err != nil {
		return nil, err
	}
	gc, err := s.fsm.GCChunks()
	if err != nil {
		return nil, err
	}
	servers, addrs, err := s.placementView()
	if err != nil {
		return nil, err
	}
	now := s.now()
	in := &repair.Input{
		Now: now, Refs: refs, GC: gc, Servers: servers, Addrs: addrs,
		Limits: repair.Limits{
			PerServer: s.cfg.MaxRepairPerServer, PerRound: s.cfg.MaxRepairPerRound,
			Deletes: s.cfg.MaxDeletesPerRound, Timeout: s.cfg.CommandTimeout,
		},
	}
	in.Holders, in.Corrupt = s.replicas.snapshot()
	in.OrphanAt = s.orphanTimers(in, gc, now)
	in.GC = s.deletable(gc, now)
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
func (s *Server) orphanTimers(in *repair.Input, queued map[uint64]bool, now time.Time) map[uint64]time.Time {
	s.heal.mu.Lock()
	defer s.heal.mu.Unlock()
	out := map[uint64]time.Time{}
	for _, c := range slices.Sorted(maps.Keys(in.Holders)) {
		if _, ref := in.Refs[c]; ref || queued[c] {
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
		for _, t := range s.heal.inflight.Copies {
			st.InflightCopies += len(t)
		}
		for _, d := range s.heal.inflight.Deletes {
			st.InflightDeletes += len(d)
		}
	}
	return st
}
