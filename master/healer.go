package master

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/repair"
	"github.com/granary-store/granary/placement"
)

// applyFunc proposes a command through Raft and waits for its result
// (Server.apply).
type applyFunc func(ctx context.Context, o meta.Op, payload any) (any, error)

// healer is the leader's self-healing: it takes the chunk servers'
// heartbeats, plans repair, deletion and balancing rounds (repair.MakePlan)
// and queues their commands for the servers' next heartbeats. Its soft
// state (commands waiting and in flight, orphan timers, counters) is reset
// when leadership changes and guarded by mu. Safe for concurrent use.
type healer struct {
	cfg       *Config
	log       *slog.Logger
	now       func() time.Time
	fsm       *meta.FSM
	nodes     *nodes
	replicas  *replicaMap
	apply     applyFunc
	leader    func() bool     // this member is the ready leader
	kicks     chan struct{}   // wakes the loop for a round; buffered, 1
	rearms    chan struct{}   // wakes the loop to reset its death timer; buffered, 1
	deathAt   atomic.Int64    // when the loop's death timer fires (Unix ns; 0: not set yet)
	closing   <-chan struct{} // closed when the member closes: long polls end
	refsCache refsCache       // readRefs' last scan

	mu        sync.Mutex
	since     time.Time // when this member became ready as leader
	outbox    map[proto.NodeID][]proto.Command
	inflight  *repair.Inflight
	seen      map[proto.ChunkID]time.Time // unreferenced chunk -> first seen
	gcSeen    map[proto.ChunkID]time.Time // queued for deletion -> first seen queued
	renewed   map[proto.ChunkID]time.Time // allocated or renewed by a writer
	stats     proto.RepairStats
	storage   []proto.PolicyStorage          // as of the last round
	moves     []placement.Move               // balancing moves whose old replica is still to go
	wakers    map[proto.NodeID]chan struct{} // closed when commands are queued for a server
	copiedBy  map[proto.NodeID]int64         // server -> repair bytes copied, as last reported
	copies    []copySample                   // repair bytes copied, within rateWindow
	missing   int
	lastAlarm time.Time
}

func (h *healer) reset(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.since = now
	h.outbox = map[proto.NodeID][]proto.Command{}
	h.inflight = repair.NewInflight()
	h.seen = map[proto.ChunkID]time.Time{}
	h.gcSeen = map[proto.ChunkID]time.Time{}
	h.renewed = map[proto.ChunkID]time.Time{}
	h.stats = proto.RepairStats{}
	h.moves = nil
}

// renew records that a writer still holds these chunk ids.
func (h *healer) renew(ids []proto.ChunkID) {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.renewed == nil {
		h.renewed = map[proto.ChunkID]time.Time{}
	}
	for _, id := range ids {
		h.renewed[id] = now
	}
}

// take removes and returns the commands waiting for a server.
func (h *healer) take(server proto.NodeID) []proto.Command {
	h.mu.Lock()
	defer h.mu.Unlock()
	cmds := h.outbox[server]
	delete(h.outbox, server)
	return cmds
}

// failed forgets copies and shard rebuilds a server could not do, so they
// are planned again.
func (h *healer) failed(server proto.NodeID, chunks []proto.ChunkID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.inflight == nil {
		return
	}
	for _, c := range chunks {
		delete(h.inflight.Copies[c], server)
		if op, ok := h.inflight.Reconstructs[c]; ok && op.Target == server {
			delete(h.inflight.Reconstructs, c)
		}
	}
}

// send queues commands for their servers' next heartbeats, and wakes
// their command polls. The caller holds h.mu.
func (h *healer) send(cmds map[proto.NodeID][]proto.Command) {
	for server, c := range cmds {
		if len(c) == 0 {
			continue
		}
		h.outbox[server] = append(h.outbox[server], c...)
		if ch, ok := h.wakers[server]; ok {
			close(ch)
			delete(h.wakers, server)
		}
	}
}

// waker returns a channel closed when commands are next queued for server.
func (h *healer) waker(server proto.NodeID) <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.wakers == nil {
		h.wakers = map[proto.NodeID]chan struct{}{}
	}
	ch, ok := h.wakers[server]
	if !ok {
		ch = make(chan struct{})
		h.wakers[server] = ch
	}
	return ch
}

// poll hands a chunk server the commands waiting for it as soon as there
// are any (none in safe mode), waiting at most wait: the long poll through
// which work reaches a server between heartbeats.
func (h *healer) poll(ctx context.Context, server proto.NodeID, wait time.Duration) []proto.Command {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		ch := h.waker(server) // before take: a send in between closes it
		if safe, _ := h.safeMode(); !safe {
			if cmds := h.take(server); len(cmds) > 0 {
				return cmds
			}
		}
		select {
		case <-ch:
		case <-t.C:
			return nil
		case <-ctx.Done():
			return nil
		case <-h.closing: // answered before the HTTP server's drain gives up
			return nil
		}
	}
}

// heartbeat takes a chunk server's heartbeat (validated by the caller):
// its liveness, replica report, corrupt replicas and failed copies, and
// hands it the commands waiting for it (none in safe mode). A server that
// is not registered, or decommissioned, is told so.
func (h *healer) heartbeat(hb *proto.HeartbeatRequest) (proto.HeartbeatReply, error) {
	nodes, err := h.fsm.Nodes()
	if err != nil {
		return proto.HeartbeatReply{}, err
	}
	known := slices.ContainsFunc(nodes, func(n meta.Node) bool { return n.ID == hb.ID && n.State != meta.NodeDecommissioned })
	reply := proto.HeartbeatReply{Registered: known, IntervalMs: h.cfg.HeartbeatInterval.Milliseconds()}
	if !known {
		return reply, nil
	}
	now := h.now()
	h.nodes.live.seen(hb.ID, now, hb)
	if now.Add(h.nodes.deadAfter).UnixNano() < h.deathAt.Load() {
		h.rearm() // a server whose deadline the loop's death timer misses
	}
	reply.NeedFullReport = h.replicas.apply(hb.ID, hb.Full, hb.Report, hb.Added, hb.Removed)
	if hb.Full {
		h.replicas.sized(hb.Report, hb.ReportSizes)
	} else {
		h.replicas.sized(hb.Added, hb.AddedSizes)
	}
	h.copied(hb.ID, hb.CopiedBytes)
	for _, c := range hb.Corrupt {
		h.replicas.markCorrupt(c, hb.ID, "verification failed on the server")
	}
	h.failed(hb.ID, hb.Failed)
	if len(hb.Failed) > 0 || len(hb.Corrupt) > 0 || h.awaited(hb.ID, hb.Added, hb.Removed) {
		h.kick()
	}
	if safe, _ := h.safeMode(); !safe {
		reply.Commands = h.take(hb.ID)
	}
	return reply, nil
}

// reportCorrupt records a replica a reader found corrupt.
func (h *healer) reportCorrupt(rep proto.CorruptReport) {
	h.replicas.markCorrupt(rep.Chunk, rep.Server, rep.Reason)
	h.log.Warn("corrupt replica reported", "chunk", rep.Chunk, "server", rep.Server, "reason", rep.Reason)
}

// safeMode reports whether the leader must not repair or delete yet: until
// the live servers have sent full reports, or SafeModeTimeout has passed
// since it became leader. For the first DeadAfter every registered server
// counts as live (a silent one may just not have heartbeated yet); after
// that only those heard from do.
func (h *healer) safeMode() (bool, string) {
	if !h.leader() {
		return true, "not the ready leader"
	}
	h.mu.Lock()
	since := h.since
	h.mu.Unlock()
	if h.now().Sub(since) >= h.cfg.SafeModeTimeout {
		return false, ""
	}
	nodes, err := h.fsm.Nodes()
	if err != nil {
		return true, err.Error()
	}
	settled := h.now().Sub(since) >= h.cfg.DeadAfter
	waiting := 0
	for _, n := range nodes {
		if n.State == meta.NodeDecommissioned || h.replicas.hasReported(n.ID) {
			continue
		}
		if !settled || h.nodes.view(n).health != placement.Dead {
			waiting++
		}
	}
	if waiting > 0 {
		return true, fmt.Sprintf("waiting for %d chunk servers to report (at most %v)", waiting, h.cfg.SafeModeTimeout)
	}
	return false, ""
}

// awaited reports whether a heartbeat's added or removed chunks finish
// work a round sent server: a copy or shard rebuild to it, a deletion on
// it. Only those kick a round early. Chunks that writers add and
// deletions the healer did not ask for wait for the next tick: under
// write load every heartbeat adds chunks, and kicking on each ran rounds
// (which cost time in proportion to the chunks stored) several times per
// interval.
func (h *healer) awaited(server proto.NodeID, added, removed []proto.ChunkID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.inflight == nil {
		return false
	}
	for _, c := range added {
		if _, ok := h.inflight.Copies[c][server]; ok {
			return true
		}
		if op, ok := h.inflight.Reconstructs[c]; ok && op.Target == server {
			return true
		}
	}
	for _, c := range removed {
		if _, ok := h.inflight.Deletes[c][server]; ok {
			return true
		}
	}
	return false
}

// kick asks for a repair round soon (a copy finished or failed, so a slot
// is free), without waiting for the ticker.
func (h *healer) kick() {
	select {
	case h.kicks <- struct{}{}:
	default:
	}
}

// rearm makes the loop reset its death timer without a round: a server
// was heard from whose deadline comes before the timer's (one new, or
// back from the dead). Heartbeats of servers the timer covers only move
// their deadlines later: the timer fires early, the round finds nobody
// dead, and the loop sets it again.
func (h *healer) rearm() {
	select {
	case h.rearms <- struct{}{}:
	default:
	}
}

// loop runs repair rounds while this member leads, until done is closed:
// every RepairInterval, when kicked, and as soon as a chunk server's
// heartbeats are overdue enough for it to count as dead (rather than at
// the next tick, up to RepairInterval later), but never closer than a
// tenth of RepairInterval.
func (h *healer) loop(done <-chan struct{}) {
	tick := time.NewTicker(h.cfg.RepairInterval)
	defer tick.Stop()
	death := time.NewTimer(time.Hour)
	defer death.Stop()
	gap := h.cfg.RepairInterval / 10
	var last time.Time // when the last round started
	for {
		// A millisecond past the deadline, so the server counts as dead
		// when the round looks.
		now := h.now()
		next := h.nodes.live.untilNextDeath(now, h.nodes.deadAfter) + time.Millisecond
		h.deathAt.Store(now.Add(next).UnixNano())
		death.Reset(next)
		select {
		case <-done:
			return
		case <-tick.C:
		case <-h.kicks:
		case <-death.C:
		case <-h.rearms:
			continue
		}
		if wait := time.Until(last.Add(gap)); wait > 0 {
			select {
			case <-done:
				return
			case <-time.After(wait):
			}
		}
		last = time.Now()
		if safe, _ := h.safeMode(); safe {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), h.cfg.ApplyTimeout)
		if err := h.round(ctx); err != nil {
			h.log.Warn("repair round", "err", err)
		}
		cancel()
	}
}

// round runs one planning round (Server.RepairOnce).
func (h *healer) round(ctx context.Context) error {
	if safe, why := h.safeMode(); safe {
		return fmt.Errorf("master: repair: safe mode: %s: %w", why, ErrNotLeader)
	}
	in, stripes, err := h.planInput()
	if err != nil {
		return err
	}
	h.mu.Lock()
	in.Inflight = h.inflight
	h.stats.CopiesDone += int64(in.Inflight.Expire(in))
	in.Moving = map[proto.ChunkID]bool{}
	for _, m := range h.moves {
		in.Moving[proto.ChunkID(m.Chunk)] = true // placement's own chunk id
	}
	h.storage = storageByPolicy(in, stripes)
	p := repair.MakePlan(in)
	h.finishMoves(in)
	h.send(p.Commands)
	h.send(reconstructCommands(p.Reconstructs, stripes.records, in.Addrs))
	h.stats.ReconstructsIssued += int64(len(p.Reconstructs))
	h.stats.QueuedStripes = p.QueuedStripes
	h.stats.CopiesIssued += int64(p.Copies)
	h.stats.DeletesIssued += int64(p.Deletes)
	h.stats.QueuedCopies = p.Queued
	h.stats.QueuedBytes = p.QueuedBytes
	h.stats.InflightBytes = in.Inflight.Bytes()
	// No repair queued or in flight (read under h.mu: heartbeats change
	// Inflight): the round may balance.
	idle := p.Queued == 0 && p.Copies == 0 && len(in.Inflight.Copies) == 0 &&
		p.QueuedStripes == 0 && len(p.Reconstructs) == 0 && len(in.Inflight.Reconstructs) == 0
	h.missing = len(p.Missing) + len(p.MissingStripes)
	alarm := h.missing > 0 && h.now().Sub(h.lastAlarm) > time.Minute
	if alarm {
		h.lastAlarm = h.now()
	}
	h.mu.Unlock()
	if alarm && len(p.Missing) > 0 {
		h.log.Error("chunks with no readable replica: data is unavailable until a holder returns",
			"missing", len(p.Missing), "first", p.Missing[:min(len(p.Missing), 10)])
	}
	if alarm && len(p.MissingStripes) > 0 {
		h.log.Error("stripes with fewer than K readable shards: data is unavailable until holders return",
			"missing", len(p.MissingStripes), "first", missingStripes(p.MissingStripes))
	}
	if err := h.nameUnreadable(p); err != nil {
		return err
	}
	if err := h.commitGC(ctx, p); err != nil {
		return err
	}
	if err := h.finishDrains(ctx, in); err != nil {
		return err
	}
	if idle {
		return h.balance(in)
	}
	return nil
}

// finishDrains marks draining servers decommissioned once every chunk they
// hold has its target of good replicas on live servers elsewhere.
func (h *healer) finishDrains(ctx context.Context, in *repair.Input) error {
	for _, sv := range in.Servers {
		id := proto.NodeID(sv.ID) // placement's own server id
		if sv.State != placement.Draining || !h.replicas.hasReported(id) || !repair.Drained(in, id) {
			continue
		}
		if _, err := h.apply(ctx, meta.OpSetNodeState, meta.SetNodeState{ID: id, State: meta.NodeDecommissioned}); err != nil {
			return err
		}
		h.log.Info("chunk server drained and decommissioned", "server", sv.ID)
	}
	return nil
}

// commitGC records finished deletions and collected orphans in Raft.
func (h *healer) commitGC(ctx context.Context, p repair.Plan) error {
	if len(p.GCDone) > 0 {
		if _, err := h.apply(ctx, meta.OpAckGCDeletion, meta.AckGCDeletion{Chunks: p.GCDone}); err != nil {
			return err
		}
	}
	if len(p.Collect) > 0 {
		res, err := h.apply(ctx, meta.OpCollectOrphans, meta.CollectOrphans{Chunks: p.Collect})
		if err != nil {
			return err
		}
		// Count what Raft queued: a chunk committed or queued meanwhile
		// is not collected, and a round that collects nothing says nothing.
		if n, _ := res.(int64); n > 0 {
			h.mu.Lock()
			h.stats.OrphansFound += n
			h.mu.Unlock()
			h.log.Info("collected orphan chunks", "count", n, "first", p.Collect[0])
		}
	}
	return nil
}

// planInput snapshots the state the planner needs, with the stripe index
// it read.
func (h *healer) planInput() (*repair.Input, stripeSet, error) {
	refs, stripes, err := h.readRefs()
	if err != nil {
		return nil, stripeSet{}, err
	}
	gc, err := h.fsm.GCChunks()
	if err != nil {
		return nil, stripeSet{}, err
	}
	servers, addrs, err := h.nodes.placement()
	if err != nil {
		return nil, stripeSet{}, err
	}
	now := h.now()
	in := &repair.Input{
		Now: now, Refs: refs, GC: gc, Servers: servers, Addrs: addrs, Stripes: stripes.plan,
		Limits: repair.Limits{
			PerServer: h.cfg.MaxRepairPerServer, PerRound: h.cfg.MaxRepairPerRound,
			PerServerBytes: h.cfg.MaxRepairBytesPerServer, DefaultSize: h.cfg.ChunkSize,
			Deletes: h.cfg.MaxDeletesPerRound, Timeout: h.cfg.CommandTimeout,
			Batch: repair.DefaultBatch, BatchBytes: repair.DefaultBatchBytes,
		},
	}
	in.Holders, in.Corrupt, in.Sizes = h.replicas.snapshotSized()
	var loose []proto.ChunkID // reported, unreferenced and not queued for deletion
	for c := range in.Holders {
		if _, ref := refs[c]; !ref && !gc[c] && !stripes.shards[c] {
			loose = append(loose, c)
		}
	}
	deleted, err := h.fsm.Deleted(loose)
	if err != nil {
		return nil, stripeSet{}, err
	}
	in.OrphanAt = h.orphanTimers(in, stripes.shards, gc, deleted, now)
	in.GC = h.deletable(gc, now)
	for c := range deleted {
		in.GC[c] = true // deleted for good, and still on a server that was away: collect it now
	}
	return in, stripes, nil
}

// deletable keeps the queued chunks that have waited GCDelay since this
// leader first saw them queued, so reads of a version that was just
// overwritten or deleted can finish (lazy deletion, as in GFS).
func (h *healer) deletable(gc map[proto.ChunkID]bool, now time.Time) map[proto.ChunkID]bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[proto.ChunkID]bool{}
	for c := range gc {
		first, ok := h.gcSeen[c]
		if !ok {
			first = now
			h.gcSeen[c] = now
		}
		if now.Sub(first) >= h.cfg.GCDelay {
			out[c] = true
		}
	}
	for c := range h.gcSeen {
		if !gc[c] {
			delete(h.gcSeen, c)
		}
	}
	return out
}

// orphanTimers returns, for every reported chunk that no object references
// (directly or as a shard) and that is neither queued for deletion nor
// deleted for good, when it may be collected: a grace period after it was
// first seen or last renewed by a writer.
func (h *healer) orphanTimers(in *repair.Input, shards, queued, deleted map[proto.ChunkID]bool, now time.Time) map[proto.ChunkID]time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[proto.ChunkID]time.Time{}
	for c := range in.Holders {
		if _, ref := in.Refs[c]; ref || shards[c] || queued[c] || deleted[c] {
			delete(h.seen, c)
			continue
		}
		first, ok := h.seen[c]
		if !ok {
			first = now
			h.seen[c] = now
		}
		if r, ok := h.renewed[c]; ok && r.After(first) {
			first = r
		}
		out[c] = first.Add(h.cfg.OrphanGrace)
	}
	for c, at := range h.renewed { // forget renewals long past
		if now.Sub(at) > 2*h.cfg.OrphanGrace {
			delete(h.renewed, c)
		}
	}
	return out
}

// rateWindow is how far back the repair rate looks.
const rateWindow = 10 * time.Second

// copied takes a server's count of repair bytes copied (since it started)
// into the repair rate.
func (h *healer) copied(server proto.NodeID, total int64) {
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.copiedBy == nil {
		h.copiedBy = map[proto.NodeID]int64{}
	}
	last, seen := h.copiedBy[server]
	h.copiedBy[server] = total
	if d := total - last; seen && d > 0 { // a restarted server starts again from 0
		h.copies = append(h.copies, copySample{at: now, bytes: d})
	}
	for len(h.copies) > 0 && now.Sub(h.copies[0].at) > rateWindow {
		h.copies = h.copies[1:]
	}
}

type copySample struct {
	at    time.Time
	bytes int64
}

// repairStats returns the counters for the status, with the repair rate
// over the last rateWindow and the time the queued and running copies
// would take at that rate.
func (h *healer) repairStats() proto.RepairStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.stats
	now := h.now()
	var recent int64
	for _, c := range h.copies {
		if now.Sub(c.at) <= rateWindow {
			recent += c.bytes
		}
	}
	st.BytesPerSecond = recent / int64(rateWindow/time.Second)
	if left := st.QueuedBytes + st.InflightBytes; left > 0 && st.BytesPerSecond > 0 {
		st.ETASeconds = max(1, left/st.BytesPerSecond)
	}
	if h.inflight != nil {
		for _, t := range h.inflight.Copies {
			st.InflightCopies += len(t)
		}
		for _, d := range h.inflight.Deletes {
			st.InflightDeletes += len(d)
		}
		st.InflightReconstructs = len(h.inflight.Reconstructs)
	}
	return st
}

// chunkCounts derives the health counters from the referenced chunks and
// stripes, the replica reports and liveness, classified as the repair
// planner does (repair.Count, repair.CountStripes): a stripe counts as one
// in Total and Missing, and Degraded counts stripes.
func (h *healer) chunkCounts() (proto.ChunkCounts, error) {
	refs, stripes, err := h.readRefs()
	if err != nil {
		return proto.ChunkCounts{}, err
	}
	servers, _, err := h.nodes.placement()
	if err != nil {
		return proto.ChunkCounts{}, err
	}
	_, pending, err := h.fsm.Counters()
	if err != nil {
		return proto.ChunkCounts{}, err
	}
	holders, corrupt := h.replicas.snapshot()
	c := repair.Count(refs, holders, corrupt, servers)
	sc := repair.CountStripes(stripes.plan, holders, corrupt, servers)
	c.Total += sc.Total
	c.Missing += sc.Missing
	c.Degraded = sc.Degraded
	c.PendingDeletes, c.Corrupt = int(pending), h.replicas.corruptCount()
	return c, nil
}
