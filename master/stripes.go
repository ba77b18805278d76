package master

import (
	"slices"
	"strings"
	"sync"

	"github.com/granary-store/granary/internal/erasure"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/repair"
)

// stripeSet is the stripe index as the healer reads it each round: the
// planner's view (shard bytes from the layout) and the records, which
// the reconstruct commands need for the cell and data length.
type stripeSet struct {
	plan    map[proto.ChunkID]repair.Stripe
	records map[proto.ChunkID]meta.StripeRecord
	shards  map[proto.ChunkID]bool // every shard's chunk id: referenced, never orphans
}

// readRefs reads the referenced chunks that are not shards and the
// stripe index, from one snapshot (a scan of c/ and s/, not of the
// objects).
//
// Both are read-only for the caller: they are kept and handed out again
// while the state machine applies nothing new (a repair after a server
// loss, status polls between writes), instead of scanning every chunk
// reference per round and per status.
func (h *healer) readRefs() (map[proto.ChunkID]int, stripeSet, error) {
	at := h.fsm.Applied() // before the scan: the scan is at least this new
	c := &h.refsCache
	c.mu.Lock()
	if c.valid && c.at == at {
		refs, set := c.refs, c.set
		c.mu.Unlock()
		return refs, set, nil
	}
	c.mu.Unlock()
	refs, set, err := h.scanRefs()
	if err != nil {
		return nil, stripeSet{}, err
	}
	c.mu.Lock()
	c.valid, c.at, c.refs, c.set = true, at, refs, set
	c.mu.Unlock()
	return refs, set, nil
}

// refsCache is readRefs' last answer and the applied index it was read at.
type refsCache struct {
	mu    sync.Mutex
	valid bool
	at    uint64
	refs  map[proto.ChunkID]int
	set   stripeSet
}

// scanRefs reads the references and stripes from the state machine.
func (h *healer) scanRefs() (map[proto.ChunkID]int, stripeSet, error) {
	refs, recs, err := h.fsm.RefsAndStripes()
	if err != nil {
		return nil, stripeSet{}, err
	}
	set := stripeSet{plan: make(map[proto.ChunkID]repair.Stripe, len(recs)), records: recs, shards: map[proto.ChunkID]bool{}}
	for id, r := range recs {
		l := erasure.Layout{K: r.K, M: r.M, Cell: r.Cell}
		set.plan[id] = repair.Stripe{K: r.K, M: r.M, Shards: r.Shards, Size: l.ShardSize(r.Size, 0)}
		for _, c := range r.Shards {
			set.shards[c] = true
		}
	}
	return refs, set, nil
}

// reconstructCommands turns the plan's shard rebuilds into commands for
// their targets. A rebuild whose stripe or source address is unknown is
// dropped (and expires from Inflight like an unconfirmed command).
func reconstructCommands(rs []repair.Reconstruct, recs map[proto.ChunkID]meta.StripeRecord, addrs map[proto.NodeID]string) map[proto.NodeID][]proto.Command {
	out := map[proto.NodeID][]proto.Command{}
	for _, r := range rs {
		rec, ok := recs[r.Stripe]
		if !ok {
			continue
		}
		rb := &proto.Rebuild{K: r.K, M: r.M, Cell: rec.Cell, Length: rec.Size, Shard: r.Shard}
		for _, src := range r.Sources {
			addr, ok := addrs[src.Server]
			if !ok {
				rb = nil
				break
			}
			rb.Sources = append(rb.Sources, proto.ShardSource{Shard: src.Shard, Chunk: src.Chunk,
				Source: proto.Target{ID: src.Server, Address: addr}})
		}
		if rb == nil {
			continue
		}
		out[r.Target] = append(out[r.Target], proto.Command{Op: proto.CmdReconstruct, Chunk: r.Chunk, Rebuild: rb})
	}
	return out
}

// missingStripes names the first missing stripes for the log: each by its
// first shard.
func missingStripes(ids []proto.ChunkID) []proto.ChunkID {
	return slices.Sorted(slices.Values(ids))[:min(len(ids), maxUnreadable)]
}

// maxUnreadable bounds the objects the status names as unreadable.
const maxUnreadable = 10

// nameUnreadable records, for the status, the objects that the first
// missing chunks and stripes of the plan belong to.
func (h *healer) nameUnreadable(p repair.Plan) error {
	var names []string
	if len(p.Missing) > 0 || len(p.MissingStripes) > 0 {
		ids := append(slices.Clone(p.Missing[:min(len(p.Missing), maxUnreadable)]), missingStripes(p.MissingStripes)...)
		owners, err := h.fsm.ChunkOwners(ids)
		if err != nil {
			return err
		}
		for _, id := range ids {
			ref, ok := owners[id]
			if !ok || len(names) == maxUnreadable {
				continue
			}
			if bucket, part, isPart := strings.Cut(ref, "/\x00upload/"); isPart {
				ref = bucket + " (multipart upload " + part + ")"
			}
			if !slices.Contains(names, ref) {
				names = append(names, ref)
			}
		}
	}
	h.mu.Lock()
	h.stats.Unreadable = names
	h.mu.Unlock()
	return nil
}
