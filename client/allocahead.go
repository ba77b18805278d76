package client

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// Allocation ahead: a Put of a small object spends most of its time
// waiting on three round trips in series (allocate, pipeline, commit), and
// the allocation is the one that carries no data. So chunks of up to
// aheadMaxSize bytes take their ids and pipeline targets from allocations
// made ahead, aheadBatch at a time, in one call to the master; a chunk
// that finds none asks for a batch and keeps the rest for the next ones.
//
// Handing out ids the writer may never use costs nothing: an id is a
// number from a range, nothing is stored under it until a pipeline writes
// it, and the master's orphan timer for an id no one wrote expires with
// nothing to collect. Targets are the master's placement at allocation
// time, so allocations are kept aheadTTL at most; one whose targets
// include a server the client saw fail recently is dropped, and a pipeline
// that fails on an allocation made ahead is retried, as any other, on a
// fresh allocation without the server at fault.
const (
	aheadBatch   = 16
	aheadTTL     = time.Second
	aheadMaxSize = 1 << 20 // the chunk servers' default packing limit
)

// aheadPool holds allocations made ahead, by replica count. Safe for
// concurrent use.
type aheadPool struct {
	now func() time.Time

	mu   sync.Mutex
	free map[int][]aheadAlloc
}

// aheadAlloc is one chunk allocated ahead: its id and targets, and when
// it stops being offered.
type aheadAlloc struct {
	ct    proto.ChunkTargets
	until time.Time
}

// take returns an allocation of replicas targets that avoids every server
// in avoid, dropping the ones that are too old or touch avoid.
func (p *aheadPool) take(replicas int, avoid []NodeID) (proto.ChunkTargets, bool) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	free := p.free[replicas]
	if len(free) == 0 {
		return proto.ChunkTargets{}, false
	}
	for len(free) > 0 {
		a := free[len(free)-1]
		free = free[:len(free)-1]
		if now.Before(a.until) && !touches(a.ct, avoid) {
			p.free[replicas] = free
			return a.ct, true
		}
	}
	p.free[replicas] = free
	return proto.ChunkTargets{}, false
}

// put keeps allocations for later chunks.
func (p *aheadPool) put(replicas int, cts []proto.ChunkTargets) {
	if len(cts) == 0 {
		return
	}
	until := p.now().Add(aheadTTL)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.free == nil {
		p.free = make(map[int][]aheadAlloc)
	}
	for _, ct := range cts {
		p.free[replicas] = append(p.free[replicas], aheadAlloc{ct: ct, until: until})
	}
}

// touches reports whether any of ct's targets is in avoid.
func touches(ct proto.ChunkTargets, avoid []NodeID) bool {
	for _, t := range ct.Targets {
		if slices.Contains(avoid, t.ID) {
			return true
		}
	}
	return false
}

// allocate returns pipeline targets for one chunk of n bytes and
// replicas replicas on servers not in exclude: from the allocations made
// ahead when the chunk is small, the write's first try (exclude empty) and
// one is free, or else from the master (a batch of them, for a small
// first try).
func (c *Client) allocate(ctx context.Context, replicas int, n int64, exclude, quiet []NodeID) (proto.ChunkTargets, error) {
	ahead := n <= aheadMaxSize && len(exclude) == 0
	if ahead {
		if ct, ok := c.ahead.take(replicas, quiet); ok {
			return ct, nil
		}
	}
	req := proto.AllocateRequest{Count: 1, Replication: replicas, Exclude: append(slices.Clone(exclude), quiet...), Size: n}
	if ahead {
		req.Count, req.Size = aheadBatch, aheadMaxSize
	}
	cts, err := c.master.Allocate(ctx, req)
	if err != nil {
		return proto.ChunkTargets{}, err
	}
	if len(cts) != req.Count {
		return proto.ChunkTargets{}, fmt.Errorf("master answered %d allocations for %d", len(cts), req.Count)
	}
	c.ahead.put(replicas, cts[1:])
	return cts[0], nil
}
