package master

import (
	"github.com/granary-store/granary/internal/proto"
	"slices"
	"testing"
)

// A node lists its store for a full report, a client's write lands there
// and is committed (linking the replica), and only then does the report
// arrive: the report must not unlink the replica it could not know of,
// while replicas it really lacks still go.
func TestFullReportKeepsReplicasWrittenSinceItWasBuilt(t *testing.T) {
	var m replicaMap
	m.reset()
	m.apply("cs1", true, []proto.ChunkID{1, 2}, nil, nil)
	m.added(3, []proto.NodeID{"cs1", "cs2"}) // written and committed after cs1 listed its store
	m.apply("cs1", true, []proto.ChunkID{1}, nil, nil)
	if got := m.holders(3); !slices.Equal(got, []proto.NodeID{"cs1", "cs2"}) {
		t.Fatalf("holders of the new chunk %v, want cs1 and cs2", got)
	}
	if got := m.holders(2); len(got) != 0 {
		t.Fatalf("a replica the report lacks stays linked: %v", got)
	}
	// Once the node confirms the write, a later report that lacks it is
	// believed.
	m.apply("cs1", false, nil, []proto.ChunkID{3}, nil)
	m.apply("cs1", true, []proto.ChunkID{1}, nil, nil)
	if got := m.holders(3); !slices.Equal(got, []proto.NodeID{"cs2"}) {
		t.Fatalf("holders after a confirmed write went missing: %v, want cs2", got)
	}
}

// A corrupt report that crosses the replica's deletion (the scrubber
// found it again before the delete; both reach the leader in one
// heartbeat, removal first) leaves no mark behind: the replica is gone,
// and a mark would count as corrupt forever.
func TestCorruptMarkOfAGoneReplicaIsDropped(t *testing.T) {
	var m replicaMap
	m.apply("n1", true, []proto.ChunkID{5}, nil, nil)
	m.markCorrupt(5, "n1", "scrub")
	if n := m.corruptCount(); n != 1 {
		t.Fatalf("corrupt count %d, want 1", n)
	}
	m.apply("n1", false, nil, nil, []proto.ChunkID{5})
	m.markCorrupt(5, "n1", "scrub, again")
	m.markCorrupt(6, "n2", "a reader of a replica never reported")
	if n := m.corruptCount(); n != 0 {
		t.Fatalf("corrupt count %d after the replica went, want 0", n)
	}
}
