package master

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/placement"
)

// planInput is a snapshot of everything the repair planner looks at. The
// planner is deterministic: same input, same plan.
type planInput struct {
	now      time.Time
	refs     map[uint64]int      // referenced chunks -> replication target
	gc       map[uint64]bool     // chunks queued for deletion
	holders  map[uint64][]string // reported replicas (sorted)
	corrupt  map[uint64]map[string]bool
	servers  []placement.Server
	addrs    map[string]string
	orphanAt map[uint64]time.Time // unreferenced chunks: when they may be collected
	inflight *inflight
	moving   map[uint64]bool // chunks in a balancing move: not trimmed
	limits   repairLimits
}

// repairLimits bound the work issued per planning round.
type repairLimits struct {
	perServer int           // concurrent copies a server takes part in
	perRound  int           // copies issued per round
	deletes   int           // deletions issued per round
	timeout   time.Duration // a command not confirmed by then is forgotten
}

// plan is the planner's output.
type plan struct {
	commands map[string][]proto.Command
	gcDone   []uint64 // queued deletions no server holds any more
	collect  []uint64 // orphans to move to the deletion queue via Raft
	queued   int      // under-replicated chunks waiting for a copy slot
	missing  []uint64 // referenced chunks without any readable replica
	copies   int
	deletes  int
}

// inflight tracks commands sent and not yet confirmed by reports.
type inflight struct {
	copies  map[uint64]map[string]copyOp // chunk -> target -> op
	deletes map[uint64]map[string]time.Time
}

type copyOp struct {
	source string
	at     time.Time
}

func newInflight() *inflight {
	return &inflight{copies: map[uint64]map[string]copyOp{}, deletes: map[uint64]map[string]time.Time{}}
}

// busy counts the copies each server takes part in.
func (f *inflight) busy() map[string]int {
	out := map[string]int{}
	for _, targets := range f.copies {
		for t, op := range targets {
			out[t]++
			out[op.source]++
		}
	}
	return out
}

// expire forgets confirmed and timed-out commands; it returns how many
// copies were confirmed.
func (f *inflight) expire(in *planInput) int {
	done := 0
	for c, targets := range f.copies {
		for t, op := range targets {
			switch {
			case slices.Contains(in.holders[c], t):
				done++
				delete(targets, t)
			case in.now.Sub(op.at) > in.limits.timeout:
				delete(targets, t)
			}
		}
		if len(targets) == 0 {
			delete(f.copies, c)
		}
	}
	for c, servers := range f.deletes {
		for s, at := range servers {
			if !slices.Contains(in.holders[c], s) || in.now.Sub(at) > in.limits.timeout {
				delete(servers, s)
			}
		}
		if len(servers) == 0 {
			delete(f.deletes, c)
		}
	}
	return done
}

// makePlan decides the copies and deletions of one round.
func makePlan(in *planInput) plan {
	p := plan{commands: map[string][]proto.Command{}}
	states := map[string]placement.State{}
	for _, s := range in.servers {
		states[s.ID] = s.State
	}
	var queue []need
	for _, c := range slices.Sorted(maps.Keys(in.refs)) {
		v := classify(in, states, c)
		switch {
		case len(v.alive) == 0 && len(v.sources) == 0:
			p.missing = append(p.missing, c)
		case len(v.alive)+len(in.inflight.copies[c]) < in.refs[c]:
			queue = append(queue, need{chunk: c, view: v, count: in.refs[c] - len(v.alive) - len(in.inflight.copies[c])})
		case len(in.inflight.copies[c]) == 0 && len(in.inflight.deletes[c]) == 0 && !in.moving[c]:
			p.trim(in, c, v)
		}
	}
	p.copy(in, queue)
	p.collectGarbage(in)
	return p
}

// replicaView splits a chunk's replicas by what they are good for.
type replicaView struct {
	alive   []string // good replicas on alive servers: they count
	sources []string // good replicas that can be copied (alive or draining)
	bad     []string // corrupt replicas on alive servers
}

func classify(in *planInput, states map[string]placement.State, c uint64) replicaView {
	var v replicaView
	for _, h := range in.holders[c] {
		st, known := states[h]
		switch {
		case !known || st == placement.Dead || st == placement.Decommissioned:
		case in.corrupt[c][h]:
			if st == placement.Alive {
				v.bad = append(v.bad, h)
			}
		case st == placement.Alive:
			v.alive = append(v.alive, h)
			v.sources = append(v.sources, h)
		case st == placement.Draining:
			v.sources = append(v.sources, h)
		}
	}
	return v
}

type need struct {
	chunk uint64
	view  replicaView
	count int
}

// copy issues copies, most urgent first: every chunk down to one counting
// replica gets a copy before any chunk gets a second one, and so on, within
// the per-round and per-server limits.
func (p *plan) copy(in *planInput, queue []need) {
	slices.SortFunc(queue, func(a, b need) int {
		return cmp.Or(cmp.Compare(len(a.view.alive), len(b.view.alive)), cmp.Compare(a.chunk, b.chunk))
	})
	ring, err := placement.NewRing(in.servers, placement.DefaultOptions())
	if err != nil {
		p.queued = len(queue)
		return
	}
	busy := in.inflight.busy()
	waiting := map[uint64]bool{}
	for pass := 1; p.copies < in.limits.perRound; pass++ {
		progress := false
		for _, n := range queue {
			if n.count < pass || p.copies >= in.limits.perRound {
				continue
			}
			if p.copyOne(in, ring, busy, n) {
				progress = true
			} else {
				waiting[n.chunk] = true
			}
		}
		if !progress {
			break
		}
	}
	for _, n := range queue {
		if waiting[n.chunk] || len(in.inflight.copies[n.chunk])+len(n.view.alive) < in.refs[n.chunk] {
			p.queued++
		}
	}
}

// copyOne issues one copy of a chunk. A chunk down to one counting replica
// takes any eligible target; otherwise, when the best target for rack
// spread is busy, the copy waits for it rather than crowd a rack.
func (p *plan) copyOne(in *planInput, ring *placement.Ring, busy map[string]int, n need) bool {
	free := slices.DeleteFunc(slices.Clone(n.view.sources), func(s string) bool { return busy[s] >= in.limits.perServer })
	if len(free) == 0 {
		return false
	}
	source, err := placement.ChooseSource(in.servers, free, n.chunk)
	if err != nil {
		return false
	}
	pending := slices.Collect(maps.Keys(in.inflight.copies[n.chunk]))
	req := placement.Request{Chunk: n.chunk, Count: 1, Holders: append(slices.Clone(n.view.sources), pending...),
		Exclude: append(slices.Clone(in.holders[n.chunk]), pending...)}
	ideal, err := ring.Choose(req)
	if err != nil {
		return false
	}
	target := ideal[0]
	if busy[target] >= in.limits.perServer {
		if len(n.view.alive) > 1 {
			return false // not urgent: wait for the rack-preserving target
		}
		for s, k := range busy {
			if k >= in.limits.perServer {
				req.Exclude = append(req.Exclude, s)
			}
		}
		alt, err := ring.Choose(req)
		if err != nil {
			return false
		}
		target = alt[0]
	}
	p.commands[target] = append(p.commands[target], proto.Command{Op: proto.CmdCopy, Chunk: n.chunk, Source: proto.Target{ID: source, Address: in.addrs[source]}})
	if in.inflight.copies[n.chunk] == nil {
		in.inflight.copies[n.chunk] = map[string]copyOp{}
	}
	in.inflight.copies[n.chunk][target] = copyOp{source: source, at: in.now}
	busy[target]++
	busy[source]++
	p.copies++
	return true
}

// trim removes replicas beyond the target (keeping rack spread) and, once
// the chunk has its target of good replicas, corrupt ones.
func (p *plan) trim(in *planInput, c uint64, v replicaView) {
	target := in.refs[c]
	var victims []string
	if len(v.alive) > target {
		extra, err := placement.ChooseTrim(in.servers, v.alive, target, c)
		if err == nil {
			victims = extra
		}
	}
	if len(v.alive) >= target {
		victims = append(victims, v.bad...)
	}
	for _, s := range victims {
		p.remove(in, c, s)
	}
}

// remove issues one deletion unless one is pending or the round is full.
func (p *plan) remove(in *planInput, c uint64, server string) {
	if _, pending := in.inflight.deletes[c][server]; pending || p.deletes >= in.limits.deletes {
		return
	}
	p.commands[server] = append(p.commands[server], proto.Command{Op: proto.CmdDelete, Chunk: c})
	if in.inflight.deletes[c] == nil {
		in.inflight.deletes[c] = map[string]time.Time{}
	}
	in.inflight.deletes[c][server] = in.now
	p.deletes++
}

// collectGarbage deletes queued chunks from every live holder, reports
// the queued chunks no server holds any more, and picks orphans whose
// grace period is over.
func (p *plan) collectGarbage(in *planInput) {
	alive := usable(in.servers)
	for _, c := range slices.Sorted(maps.Keys(in.gc)) {
		if len(in.holders[c]) == 0 {
			p.gcDone = append(p.gcDone, c)
			continue
		}
		for _, h := range in.holders[c] {
			if alive[h] {
				p.remove(in, c, h)
			}
		}
	}
	for _, c := range slices.Sorted(maps.Keys(in.orphanAt)) {
		if !in.now.Before(in.orphanAt[c]) {
			p.collect = append(p.collect, c)
		}
	}
}
