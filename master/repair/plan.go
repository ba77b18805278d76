package repair

import (
	"cmp"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/placement"
)

// Input is a snapshot of everything the planner looks at. The planner is
// deterministic: same input, same plan.
type Input struct {
	Now      time.Time
	Refs     map[proto.ChunkID]int            // referenced chunks -> replication target
	GC       map[proto.ChunkID]bool           // chunks queued for deletion, due now
	Holders  map[proto.ChunkID][]proto.NodeID // reported replicas (sorted)
	Sizes    map[proto.ChunkID]int64          // data bytes of chunks, where reported
	Corrupt  map[proto.ChunkID]map[proto.NodeID]bool
	Servers  []placement.Server
	Addrs    map[proto.NodeID]string
	OrphanAt map[proto.ChunkID]time.Time // unreferenced chunks: when they may be collected
	// Inflight is the leader's record of commands sent and not yet
	// confirmed; MakePlan, Balance and FinishMoves add what they issue.
	Inflight *Inflight
	Moving   map[proto.ChunkID]bool // chunks in a balancing move: not trimmed
	Limits   Limits
	// Stripes are the erasure-coded stripes (stripe ID -> stripe). Their
	// shard chunks are not in Refs; Holders, Sizes and Corrupt cover them
	// like any chunk. Nil when the cluster has none.
	Stripes map[proto.ChunkID]Stripe
}

// Limits bound the work issued per planning round.
type Limits struct {
	PerServer int // concurrent copies a server takes part in
	// PerServerBytes bounds the bytes of the copies a server takes part in
	// at once (0: no bound), so many small chunks may be in flight where
	// only a few large ones are; a server always takes at least one copy.
	// A chunk of unreported size counts as DefaultSize.
	PerServerBytes int64
	DefaultSize    int64
	PerRound       int           // copies issued per round
	Deletes        int           // deletions issued per round
	Timeout        time.Duration // a command not confirmed by then is forgotten
	// Batch bounds the chunks of one copy command (copies of small chunks
	// from one source to one target travel together: proto.Command's
	// More); 0 or 1: a command per chunk. BatchBytes bounds their bytes
	// (0: no bound); a larger chunk travels alone.
	Batch      int
	BatchBytes int64
}

// Plan is the planner's output.
type Plan struct {
	Commands map[proto.NodeID][]proto.Command // server -> commands for its next heartbeat
	GCDone   []proto.ChunkID                  // queued deletions no server holds any more
	Collect  []proto.ChunkID                  // orphans to move to the deletion queue via Raft
	Queued   int                              // under-replicated chunks waiting for a copy slot
	// QueuedBytes are the bytes of the copies still to issue for the
	// under-replicated chunks (one per missing replica).
	QueuedBytes int64
	Missing     []proto.ChunkID // referenced chunks without any readable replica
	Copies      int
	Deletes     int
	// Reconstructs are the shard rebuilds issued this round, most urgent
	// stripe first; each goes to its Target's next heartbeat as a
	// reconstruct command. (Shards readable on a draining server move by
	// an ordinary copy in Commands.)
	Reconstructs []Reconstruct
	// MissingStripes are stripes with fewer than K readable shards.
	MissingStripes []proto.ChunkID
	// QueuedStripes counts degraded stripes with a shard still waiting
	// for a repair slot or a target.
	QueuedStripes int
}

// work is the copies and reconstructs issued this round, bounded by
// Limits.PerRound.
func (p *Plan) work() int { return p.Copies + len(p.Reconstructs) }

// Inflight tracks commands sent and not yet confirmed by reports. It is
// not safe for concurrent use; the master guards it.
type Inflight struct {
	Copies  map[proto.ChunkID]map[proto.NodeID]CopyOp // chunk -> target -> op
	Deletes map[proto.ChunkID]map[proto.NodeID]time.Time
	// Reconstructs are shard rebuilds in flight, by the chunk ID of the
	// shard being rebuilt.
	Reconstructs map[proto.ChunkID]ReconstructOp
}

// CopyOp is a copy in flight to one target.
type CopyOp struct {
	Source proto.NodeID
	At     time.Time
	Bytes  int64 // the chunk's size as the planner counted it
}

// NewInflight returns an empty record.
func NewInflight() *Inflight {
	return &Inflight{Copies: map[proto.ChunkID]map[proto.NodeID]CopyOp{}, Deletes: map[proto.ChunkID]map[proto.NodeID]time.Time{},
		Reconstructs: map[proto.ChunkID]ReconstructOp{}}
}

// load is the copy work a server takes part in.
type load struct {
	n     int
	bytes int64
}

func (l load) add(bytes int64) load { return load{l.n + 1, l.bytes + bytes} }

// busy sums the copies each server takes part in.
func (f *Inflight) busy() map[proto.NodeID]load {
	out := map[proto.NodeID]load{}
	for _, targets := range f.Copies {
		for t, op := range targets {
			out[t] = out[t].add(op.Bytes)
			out[op.Source] = out[op.Source].add(op.Bytes)
		}
	}
	for _, op := range f.Reconstructs { // a rebuild occupies its target and every source
		out[op.Target] = out[op.Target].add(op.Bytes)
		for _, s := range op.Sources {
			out[s] = out[s].add(op.Bytes)
		}
	}
	return out
}

// Bytes sums the copies in flight.
func (f *Inflight) Bytes() int64 {
	var n int64
	for _, targets := range f.Copies {
		for _, op := range targets {
			n += op.Bytes
		}
	}
	for _, op := range f.Reconstructs {
		n += op.Bytes
	}
	return n
}

// full reports whether a server with load l can take no copy of size
// bytes more.
func (lim Limits) full(l load, size int64) bool {
	return l.n >= lim.PerServer || (l.n > 0 && lim.PerServerBytes > 0 && l.bytes+size > lim.PerServerBytes)
}

// size is the bytes chunk c counts for.
func (in *Input) size(c proto.ChunkID) int64 {
	if n, ok := in.Sizes[c]; ok {
		return n
	}
	return in.Limits.DefaultSize
}

// addCopy records a copy of chunk c to target.
func (f *Inflight) addCopy(c proto.ChunkID, target proto.NodeID, op CopyOp) {
	if f.Copies[c] == nil {
		f.Copies[c] = map[proto.NodeID]CopyOp{}
	}
	f.Copies[c][target] = op
}

// addDelete records a deletion of chunk c on server.
func (f *Inflight) addDelete(c proto.ChunkID, server proto.NodeID, at time.Time) {
	if f.Deletes[c] == nil {
		f.Deletes[c] = map[proto.NodeID]time.Time{}
	}
	f.Deletes[c][server] = at
}

// Expire forgets confirmed and timed-out commands; it returns how many
// copies and reconstructs were confirmed (the target reports the chunk).
func (f *Inflight) Expire(in *Input) int {
	done := 0
	for c, targets := range f.Copies {
		for t, op := range targets {
			switch {
			case slices.Contains(in.Holders[c], t):
				done++
				delete(targets, t)
			case in.Now.Sub(op.At) > in.Limits.Timeout:
				delete(targets, t)
			}
		}
		if len(targets) == 0 {
			delete(f.Copies, c)
		}
	}
	for c, servers := range f.Deletes {
		for s, at := range servers {
			if !slices.Contains(in.Holders[c], s) || in.Now.Sub(at) > in.Limits.Timeout {
				delete(servers, s)
			}
		}
		if len(servers) == 0 {
			delete(f.Deletes, c)
		}
	}
	for c, op := range f.Reconstructs {
		switch {
		case slices.Contains(in.Holders[c], op.Target):
			done++
			delete(f.Reconstructs, c)
		case in.Now.Sub(op.At) > in.Limits.Timeout:
			delete(f.Reconstructs, c)
		}
	}
	return done
}

// MakePlan decides the copies and deletions of one round and records them
// in in.Inflight.
func MakePlan(in *Input) Plan {
	p := Plan{Commands: map[proto.NodeID][]proto.Command{}}
	states := States(in.Servers)
	var queue []need
	for _, c := range slices.Sorted(maps.Keys(in.Refs)) {
		// Counts first; the lists only for the chunks that need work.
		t, target := tallyOf(in.Holders[c], states, in.Corrupt[c]), in.Refs[c]
		pending := len(in.Inflight.Copies[c])
		switch {
		case t.condition(target) == Missing:
			p.Missing = append(p.Missing, c)
		case t.counting+pending < target:
			queue = append(queue, need{chunk: c, view: Classify(in.Holders[c], states, in.Corrupt[c]), count: target - t.counting - pending})
		case pending == 0 && len(in.Inflight.Deletes[c]) == 0 && !in.Moving[c] && (t.counting > target || t.bad > 0):
			p.trim(in, c, Classify(in.Holders[c], states, in.Corrupt[c]))
		}
	}
	stripes := p.classifyStripes(in)
	p.repairStripes(in, stripes, 0) // no spare shard left: before any copy
	p.copy(in, queue)
	p.repairStripes(in, stripes, math.MaxInt-1)
	p.finishStripes(in, stripes)
	p.collectGarbage(in)
	p.batch(in)
	return p
}

type need struct {
	chunk proto.ChunkID
	view  Replicas
	count int
}

// copy issues copies, most urgent first: every chunk down to one counting
// replica gets a copy before any chunk gets a second one, and so on, within
// the per-round and per-server limits.
func (p *Plan) copy(in *Input, queue []need) {
	slices.SortFunc(queue, func(a, b need) int {
		return cmp.Or(cmp.Compare(len(a.view.Counting), len(b.view.Counting)), cmp.Compare(a.chunk, b.chunk))
	})
	ring, err := placement.NewRing(in.Servers, placement.DefaultOptions())
	if err != nil {
		p.Queued = len(queue)
		return
	}
	busy := in.Inflight.busy()
	waiting := map[proto.ChunkID]bool{}
	for pass := 1; p.work() < in.Limits.PerRound; pass++ {
		progress := false
		for _, n := range queue {
			if n.count < pass || p.work() >= in.Limits.PerRound {
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
		short := in.Refs[n.chunk] - len(in.Inflight.Copies[n.chunk]) - len(n.view.Counting)
		if waiting[n.chunk] || short > 0 {
			p.Queued++
		}
		p.QueuedBytes += int64(max(short, 0)) * in.size(n.chunk)
	}
}

// copyOne issues one copy of a chunk. A chunk down to one counting replica
// takes any eligible target; otherwise, when the best target for rack
// spread is busy, the copy waits for it rather than crowd a rack.
func (p *Plan) copyOne(in *Input, ring *placement.Ring, busy map[proto.NodeID]load, n need) bool {
	size := in.size(n.chunk)
	free := slices.DeleteFunc(slices.Clone(n.view.Sources), func(s proto.NodeID) bool { return in.Limits.full(busy[s], size) })
	if len(free) == 0 {
		return false
	}
	source, err := chooseSource(in.Servers, free, n.chunk)
	if err != nil {
		return false
	}
	pending := slices.Collect(maps.Keys(in.Inflight.Copies[n.chunk]))
	req := placement.Request{Chunk: uint64(n.chunk), Count: 1, Holders: placementIDs(append(slices.Clone(n.view.Sources), pending...)),
		Exclude: placementIDs(append(slices.Clone(in.Holders[n.chunk]), pending...))}
	ideal, err := ring.Choose(req)
	if err != nil {
		// Nowhere else to put a copy: every eligible server holds one,
		// some of them bad. Delete a bad replica first, so the next round
		// can copy a good one onto the same server (repair in place).
		if len(n.view.Bad) > 0 && len(in.Inflight.Deletes[n.chunk]) == 0 {
			p.remove(in, n.chunk, n.view.Bad[0])
		}
		return false
	}
	target := proto.NodeID(ideal[0])
	if in.Limits.full(busy[target], size) {
		if len(n.view.Counting) > 1 {
			return false // not urgent: wait for the rack-preserving target
		}
		for s, l := range busy {
			if in.Limits.full(l, size) {
				req.Exclude = append(req.Exclude, string(s))
			}
		}
		alt, err := ring.Choose(req)
		if err != nil {
			return false
		}
		target = proto.NodeID(alt[0])
	}
	p.Commands[target] = append(p.Commands[target], copyCommand(in, n.chunk, source))
	in.Inflight.addCopy(n.chunk, target, CopyOp{Source: source, At: in.Now, Bytes: size})
	busy[target] = busy[target].add(size)
	busy[source] = busy[source].add(size)
	p.Copies++
	return true
}

func copyCommand(in *Input, chunk proto.ChunkID, source proto.NodeID) proto.Command {
	return proto.Command{Op: proto.CmdCopy, Chunk: chunk, Source: proto.Target{ID: source, Address: in.Addrs[source]}}
}

// trim removes replicas beyond the target (keeping rack spread) and, once
// the chunk has its target of good replicas, corrupt ones. (When a chunk
// cannot reach its target because the bad replicas take the only eligible
// servers, copyOne deletes one of them first.)
func (p *Plan) trim(in *Input, c proto.ChunkID, v Replicas) {
	target := in.Refs[c]
	var victims []proto.NodeID
	if len(v.Counting) > target {
		extra, err := chooseTrim(in.Servers, v.Counting, target, c)
		if err == nil {
			victims = extra
		}
	}
	if len(v.Counting) >= target {
		victims = append(victims, v.Bad...)
	}
	for _, s := range victims {
		p.remove(in, c, s)
	}
}

// remove issues one deletion unless one is pending or the round is full.
func (p *Plan) remove(in *Input, c proto.ChunkID, server proto.NodeID) {
	if _, pending := in.Inflight.Deletes[c][server]; pending || p.Deletes >= in.Limits.Deletes {
		return
	}
	p.Commands[server] = append(p.Commands[server], proto.Command{Op: proto.CmdDelete, Chunk: c})
	in.Inflight.addDelete(c, server, in.Now)
	p.Deletes++
}

// collectGarbage deletes queued chunks from every live holder, reports
// the queued chunks no server holds any more, and picks orphans whose
// grace period is over.
func (p *Plan) collectGarbage(in *Input) {
	alive := Usable(in.Servers)
	for _, c := range slices.Sorted(maps.Keys(in.GC)) {
		if len(in.Holders[c]) == 0 {
			p.GCDone = append(p.GCDone, c)
			continue
		}
		for _, h := range in.Holders[c] {
			if alive[h] {
				p.remove(in, c, h)
			}
		}
	}
	for _, c := range slices.Sorted(maps.Keys(in.OrphanAt)) {
		if !in.Now.Before(in.OrphanAt[c]) {
			p.Collect = append(p.Collect, c)
		}
	}
}
