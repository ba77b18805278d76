package client

import (
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// Allocations made ahead are handed out once each, per replica count,
// never after their time is up, and never with a server to avoid.
func TestAheadPool(t *testing.T) {
	now := time.Unix(1000, 0)
	p := aheadPool{now: func() time.Time { return now }}
	ct := func(id ChunkID, servers ...NodeID) proto.ChunkTargets {
		c := proto.ChunkTargets{ID: id}
		for _, s := range servers {
			c.Targets = append(c.Targets, proto.Target{ID: s})
		}
		return c
	}
	if _, ok := p.take(3, nil); ok {
		t.Fatal("an empty pool handed out an allocation")
	}
	p.put(3, []proto.ChunkTargets{ct(1, "a", "b", "c"), ct(2, "b", "c", "d"), ct(3, "a", "c", "d")})
	p.put(1, []proto.ChunkTargets{ct(9, "a")})
	if got, ok := p.take(3, []NodeID{"b"}); !ok || got.ID != 3 {
		t.Fatalf("take avoiding b = %d, %v; want 3", got.ID, ok)
	}
	// 2 touches b: dropped on the way to 1, which does too.
	if got, ok := p.take(3, []NodeID{"b"}); ok {
		t.Fatalf("take avoiding b handed out %d, which is on b", got.ID)
	}
	if got, ok := p.take(3, nil); ok {
		t.Fatalf("allocations dropped for touching b came back: %d", got.ID)
	}
	if got, ok := p.take(1, nil); !ok || got.ID != 9 {
		t.Fatalf("take of replication 1 = %d, %v; want 9", got.ID, ok)
	}
	if _, ok := p.take(1, nil); ok {
		t.Fatal("an allocation was handed out twice")
	}
	p.put(3, []proto.ChunkTargets{ct(4, "a", "b", "c")})
	now = now.Add(aheadTTL - time.Millisecond)
	p.put(3, []proto.ChunkTargets{ct(5, "a", "b", "c")})
	now = now.Add(time.Millisecond)
	if got, ok := p.take(3, nil); !ok || got.ID != 5 {
		t.Fatalf("take = %d, %v; want 5, the one still fresh", got.ID, ok)
	}
	if got, ok := p.take(3, nil); ok {
		t.Fatalf("allocation %d was handed out after its time", got.ID)
	}
}
