// Package alloc is the leader's allocator (Allocator): it hands out chunk
// ids from ranges allocated through Raft, chooses where new chunks are
// written (placement), and where an object's chunks are read from. The
// master wires it with the chunk servers' view, the replica map and the
// healer's orphan timers as funcs.
package alloc

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/repair"
	"github.com/granary-store/granary/master/wire"
	"github.com/granary-store/granary/placement"
)

// Allocator hands out chunk ids and chooses where chunks are written and
// read from. Ids come from ranges allocated through Raft, so allocation is
// not one Raft round per chunk; ranges left over when leadership changes
// are simply never used. Safe for concurrent use.
type Allocator struct {
	cfg Config

	mu        sync.Mutex // guards next and end
	next, end proto.ChunkID
}

const chunkRange = 4096

// Config is what an Allocator needs of the master around it.
type Config struct {
	// Apply proposes a command through Raft and waits for its result.
	Apply func(ctx context.Context, o meta.Op, payload any) (any, error)
	// Servers is the chunk servers as placement sees them, with their
	// addresses.
	Servers func() ([]placement.Server, map[proto.NodeID]string, error)
	// Holders is the servers known to hold a replica of a chunk.
	Holders func(chunk proto.ChunkID) []proto.NodeID
	// Renew tells the healer of ids handed out (their orphan grace).
	Renew func(ids []proto.ChunkID)
	// Safe is the healer's safe mode: replica locations not all known yet.
	Safe func() (bool, string)
}

// New returns an allocator with no id range yet.
func New(cfg Config) *Allocator { return &Allocator{cfg: cfg} }

// Reset drops the id range left; the master calls it when this member
// becomes leader.
func (a *Allocator) Reset() {
	a.mu.Lock()
	a.next, a.end = 0, 0
	a.mu.Unlock()
}

// Allocate hands out req.Count chunk ids and, when req asks for replicas,
// their pipeline targets. A placement refusal allocates nothing.
func (a *Allocator) Allocate(ctx context.Context, req proto.AllocateRequest) (proto.AllocateResult, error) {
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
	a.cfg.Renew(ids)
	return proto.AllocateResult{IDs: ids, Chunks: chunks}, nil
}

// allocateStripe hands out the K+M chunk ids of one erasure-coded stripe
// with one target each, on K+M distinct servers spread over racks.
func (a *Allocator) allocateStripe(ctx context.Context, req proto.AllocateRequest) (proto.AllocateResult, error) {
	k, m := req.Stripe.K, req.Stripe.M
	if k < 1 || m < 1 || k+m > proto.MaxStripeShards || req.Count != k+m || req.Replication > 1 {
		return proto.AllocateResult{}, fmt.Errorf("master: allocate a stripe of rs-%d-%d as %d chunks of replication %d: %w", k, m, req.Count, req.Replication, meta.ErrInvalid)
	}
	servers, addrs, err := a.cfg.Servers()
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
	a.cfg.Renew(ids)
	return proto.AllocateResult{IDs: ids, Chunks: chunks}, nil
}

// chunkIDs hands out n fresh chunk ids.
func (a *Allocator) chunkIDs(ctx context.Context, n int) ([]proto.ChunkID, error) {
	if n <= 0 || n > proto.MaxAllocChunks {
		return nil, fmt.Errorf("master: allocate %d chunks (1 to %d): %w", n, proto.MaxAllocChunks, meta.ErrInvalid)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := make([]proto.ChunkID, 0, n)
	for len(ids) < n {
		if a.next == a.end {
			want := uint64(max(n-len(ids), chunkRange))
			r, err := a.cfg.Apply(ctx, meta.OpAllocChunks, meta.AllocChunks{Count: want})
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
		return fmt.Errorf("master: placement: %v: %w", err, wire.ErrNoSpace)
	}
	return fmt.Errorf("master: placement: %v: %w", err, wire.ErrNoServers)
}

// placer chooses pipeline targets on one view of the chunk servers.
type placer struct {
	ring  *placement.Ring
	addrs map[proto.NodeID]string
}

func (a *Allocator) newPlacer() (*placer, error) {
	servers, addrs, err := a.cfg.Servers()
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

// Locate adds to an object where its chunks can be read.
func (a *Allocator) Locate(o *proto.Object) (proto.Located, error) {
	l := proto.Located{Object: *o}
	if len(o.Extents) == 0 { // inline objects have no chunks to place
		return l, nil
	}
	servers, addrs, err := a.cfg.Servers()
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
		if safe, why := a.cfg.Safe(); safe {
			return proto.Located{}, fmt.Errorf("locate chunk %d: %w: %s", c.ID, wire.ErrNotReady, why)
		}
		break
	}
	return l, nil
}

// locations lists each chunk's good replicas on servers that are not dead,
// rotated by chunk id so reads spread over the replicas.
func (a *Allocator) locations(o *proto.Object, servers []placement.Server, addrs map[proto.NodeID]string) []proto.ChunkTargets {
	ok := repair.Usable(servers)
	var out []proto.ChunkTargets
	for _, id := range meta.ChunkIDs(o) {
		var live []proto.NodeID
		for _, n := range a.cfg.Holders(id) {
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
