package master

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/repair"
	"github.com/granary-store/granary/placement"
)

// allocator hands out chunk ids and chooses where chunks are written and
// read from. Ids come from ranges allocated through Raft, so allocation is
// not one Raft round per chunk; ranges left over when leadership changes
// are simply never used. Safe for concurrent use.
type allocator struct {
	nodes    *nodes
	replicas *replicaMap
	heal     *healer // told of the ids handed out (orphan grace)
	apply    applyFunc

	mu        sync.Mutex // guards next and end
	next, end proto.ChunkID
}

const chunkRange = 4096

func (a *allocator) reset() {
	a.mu.Lock()
	a.next, a.end = 0, 0
	a.mu.Unlock()
}

// allocate hands out req.Count chunk ids and, when req asks for replicas,
// their pipeline targets. A placement refusal allocates nothing.
func (a *allocator) allocate(ctx context.Context, req proto.AllocateRequest) (proto.AllocateResult, error) {
	if req.Stripe != nil {
		return a.allocateStripe(ctx, req)
	}
	var p *placer
	if req.Replication > 0 { // check placement first, so a refusal allocates nothing
		var err error
		if p, err = a.newPlacer(); err == nil {
			_, err = p.place([]proto.ChunkID{1}, req)
		}
		if err != nil {
			return proto.AllocateResult{}, err
		}
	}
	ids, err := a.chunkIDs(ctx, req.Count)
	if err != nil {
		return proto.AllocateResult{}, err
	}
	var chunks []proto.ChunkTargets
	if p != nil {
		if chunks, err = p.place(ids, req); err != nil {
			return proto.AllocateResult{}, err
		}
	}
	a.heal.renew(ids)
	return proto.AllocateResult{IDs: ids, Chunks: chunks}, nil
}

// allocateStripe hands out the K+M chunk ids of one erasure-coded stripe
// with one target each, on K+M distinct servers spread over racks.
func (a *allocator) allocateStripe(ctx context.Context, req proto.AllocateRequest) (proto.AllocateResult, error) {
	k, m := req.Stripe.K, req.Stripe.M
	if k < 1 || m < 1 || k+m > proto.MaxStripeShards || req.Count != k+m || req.Replication > 1 {
		return proto.AllocateResult{}, fmt.Errorf("master: allocate a stripe of rs-%d-%d as %d chunks of replication %d: %w", k, m, req.Count, req.Replication, ErrInvalid)
	}
	servers, addrs, err := a.nodes.placement()
	if err != nil {
		return proto.AllocateResult{}, err
	}
	ring, err := placement.NewRing(servers, placement.DefaultOptions())
	if err != nil {
		return proto.AllocateResult{}, placementError(err)
	}
	sreq := placement.StripeRequest{K: k, M: m, ShardSize: req.Size, Exclude: placementIDs(req.Exclude)}
	if _, err := ring.ChooseStripe(sreq); err != nil { // a refusal allocates nothing
		return proto.AllocateResult{}, placementError(err)
	}
	ids, err := a.chunkIDs(ctx, req.Count)
	if err != nil {
		return proto.AllocateResult{}, err
	}
	sreq.Stripe = uint64(ids[0])
	chosen, err := ring.ChooseStripe(sreq)
	if err != nil {
		return proto.AllocateResult{}, placementError(err)
	}
	chunks := make([]proto.ChunkTargets, len(ids))
	for i, id := range ids {
		chunks[i] = proto.ChunkTargets{ID: id, Targets: targets(nodeIDs(chosen[i:i+1]), addrs)}
	}
	a.heal.renew(ids)
	return proto.AllocateResult{IDs: ids, Chunks: chunks}, nil
}

// chunkIDs hands out n fresh chunk ids.
func (a *allocator) chunkIDs(ctx context.Context, n int) ([]proto.ChunkID, error) {
	if n <= 0 || n > proto.MaxAllocChunks {
		return nil, fmt.Errorf("master: allocate %d chunks (1 to %d): %w", n, proto.MaxAllocChunks, ErrInvalid)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := make([]proto.ChunkID, 0, n)
	for len(ids) < n {
		if a.next == a.end {
			want := uint64(max(n-len(ids), chunkRange))
			r, err := a.apply(ctx, meta.OpAllocChunks, meta.AllocChunks{Count: want})
			if err != nil {
				return nil, err
			}
			a.next, a.end = r.(proto.ChunkID), r.(proto.ChunkID)+proto.ChunkID(want)
		}
		ids = append(ids, a.next)
		a.next++
	}
	return ids, nil
}

// placementError wraps a placement failure in the master sentinel that
// tells a caller whether waiting helps.
func placementError(err error) error {
	if errors.Is(err, placement.ErrNoSpace) {
		return fmt.Errorf("master: placement: %v: %w", err, ErrNoSpace)
	}
	return fmt.Errorf("master: placement: %v: %w", err, ErrNoServers)
}

// placer chooses pipeline targets on one view of the chunk servers.
type placer struct {
	ring  *placement.Ring
	addrs map[proto.NodeID]string
}

func (a *allocator) newPlacer() (*placer, error) {
	servers, addrs, err := a.nodes.placement()
	if err != nil {
		return nil, err
	}
	ring, err := placement.NewRing(servers, placement.DefaultOptions())
	if err != nil {
		return nil, placementError(err)
	}
	return &placer{ring: ring, addrs: addrs}, nil
}

// place chooses pipeline targets for freshly allocated chunks.
func (p *placer) place(ids []proto.ChunkID, req proto.AllocateRequest) ([]proto.ChunkTargets, error) {
	out := make([]proto.ChunkTargets, len(ids))
	exclude := placementIDs(req.Exclude)
	for i, id := range ids {
		chosen, err := p.ring.Choose(placement.Request{Chunk: uint64(id), Count: req.Replication, Exclude: exclude, Size: req.Size})
		if err != nil {
			return nil, placementError(err)
		}
		out[i] = proto.ChunkTargets{ID: id, Targets: targets(nodeIDs(chosen), p.addrs)}
	}
	return out, nil
}

func targets(ids []proto.NodeID, addrs map[proto.NodeID]string) []proto.Target {
	out := make([]proto.Target, len(ids))
	for i, id := range ids {
		out[i] = proto.Target{ID: id, Address: addrs[id]}
	}
	return out
}

// nodeIDs converts placement's server ids to chunk server ids.
func nodeIDs(ids []string) []proto.NodeID {
	out := make([]proto.NodeID, len(ids))
	for i, id := range ids {
		out[i] = proto.NodeID(id)
	}
	return out
}

// placementIDs converts chunk server ids to placement's own server ids.
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

// locate adds to an object where its chunks can be read.
func (a *allocator) locate(o *proto.Object) (proto.Located, error) {
	l := proto.Located{Object: *o}
	if len(o.Extents) == 0 { // inline objects have no chunks to place
		return l, nil
	}
	servers, addrs, err := a.nodes.placement()
	if err != nil {
		return proto.Located{}, err
	}
	l.Locations = a.locations(o, servers, addrs)
	for _, c := range l.Locations {
		if len(c.Targets) > 0 {
			continue
		}
		// A new leader learns where replicas are from the chunk servers'
		// reports: until they are in, "no replica" may only mean "not
		// heard yet", and the caller should ask again shortly.
		if safe, why := a.heal.safeMode(); safe {
			return proto.Located{}, fmt.Errorf("locate chunk %d: %w: %s", c.ID, ErrNotReady, why)
		}
		break
	}
	return l, nil
}

// locations lists each chunk's good replicas on servers that are not dead,
// rotated by chunk id so reads spread over the replicas.
func (a *allocator) locations(o *proto.Object, servers []placement.Server, addrs map[proto.NodeID]string) []proto.ChunkTargets {
	ok := repair.Usable(servers)
	var out []proto.ChunkTargets
	for _, id := range meta.ChunkIDs(o) {
		var live []proto.NodeID
		for _, n := range a.replicas.holders(id) {
			if ok[n] {
				live = append(live, n)
			}
		}
		if len(live) > 0 {
			k := int(id % proto.ChunkID(len(live)))
			live = append(live[k:], live[:k]...)
		}
		out = append(out, proto.ChunkTargets{ID: id, Targets: targets(live, addrs)})
	}
	return out
}
