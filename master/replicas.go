package master

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// replicaMap is the leader's soft state of where chunk replicas live,
// rebuilt from chunk-server reports and never replicated (DESIGN.md §3).
// A node's entries count only once it has sent a full report since this
// member became leader. Safe for concurrent use.
type replicaMap struct {
	mu sync.Mutex
	// byChunk holds each chunk's holders as a sorted slice that is never
	// changed in place (link and unlink replace it), so a snapshot shares
	// the slices and copies only the map.
	byChunk  map[proto.ChunkID][]proto.NodeID
	byNode   map[proto.NodeID]map[proto.ChunkID]bool
	reported map[proto.NodeID]bool                     // nodes whose full report arrived
	corrupt  map[proto.ChunkID]map[proto.NodeID]string // chunk -> node -> reason
	size     map[proto.ChunkID]int64                   // data bytes, where a report gave them
	// recent holds, per node, the chunks a client saw written there
	// recently (a pipeline's answer): a full report the node built before
	// the write landed must not unlink them (see apply).
	recent map[proto.NodeID]map[proto.ChunkID]time.Time
}

// writtenFor is how long a replica seen written survives full reports that
// lack it: longer than a report takes to travel, and the node's next
// incremental report confirms it anyway.
const writtenFor = 30 * time.Second

func (m *replicaMap) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byChunk = map[proto.ChunkID][]proto.NodeID{}
	m.byNode = map[proto.NodeID]map[proto.ChunkID]bool{}
	m.reported = map[proto.NodeID]bool{}
	m.corrupt = map[proto.ChunkID]map[proto.NodeID]string{}
	m.size = map[proto.ChunkID]int64{}
	m.recent = map[proto.NodeID]map[proto.ChunkID]time.Time{}
}

func (m *replicaMap) init() {
	if m.byChunk == nil {
		m.byChunk = map[proto.ChunkID][]proto.NodeID{}
		m.byNode = map[proto.NodeID]map[proto.ChunkID]bool{}
		m.reported = map[proto.NodeID]bool{}
		m.corrupt = map[proto.ChunkID]map[proto.NodeID]string{}
		m.size = map[proto.ChunkID]int64{}
		m.recent = map[proto.NodeID]map[proto.ChunkID]time.Time{}
	}
}

// sized records the sizes a report gave for chunks (same order; ignored
// when the lengths differ, as from a server that sends none).
func (m *replicaMap) sized(chunks []proto.ChunkID, sizes []int64) {
	if len(sizes) != len(chunks) {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	for i, c := range chunks {
		if m.byChunk[c] != nil {
			m.size[c] = sizes[i]
		}
	}
}

// apply records a heartbeat's report and says whether a full report is
// still needed from the node.
func (m *replicaMap) apply(node proto.NodeID, full bool, report, added, removed []proto.ChunkID) (needFull bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	if full {
		// A chunk written here after the node listed its store is missing
		// from the report but was linked when the client committed it: it
		// stays (the node's next incremental report names it).
		now := time.Now()
		for c := range m.byNode[node] {
			if at, ok := m.recent[node][c]; !ok || now.Sub(at) > writtenFor {
				m.unlink(c, node)
			}
		}
		for c, at := range m.recent[node] {
			if now.Sub(at) > writtenFor {
				delete(m.recent[node], c)
			}
		}
		for _, c := range report {
			m.link(c, node)
		}
		for c, nodes := range m.corrupt { // a replica gone takes its mark along
			if _, bad := nodes[node]; bad && !m.holds(c, node) {
				delete(nodes, node)
			}
		}
		m.reported[node] = true
		return false
	}
	if !m.reported[node] {
		return true // increments mean nothing without a base
	}
	for _, c := range added {
		m.link(c, node)
		delete(m.recent[node], c) // confirmed by the node itself
	}
	for _, c := range removed {
		m.unlink(c, node)
		delete(m.corrupt[c], node)
		delete(m.recent[node], c)
	}
	return false
}

// added records replicas a client saw written (the pipeline's answer), so
// a read right after a write finds them before the next heartbeat.
func (m *replicaMap) added(chunk proto.ChunkID, nodes []proto.NodeID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	now := time.Now()
	for _, n := range nodes {
		m.link(chunk, n)
		if m.recent[n] == nil {
			m.recent[n] = map[proto.ChunkID]time.Time{}
		}
		m.recent[n][chunk] = now
	}
}

// written records where pipelines wrote new chunks (added, per chunk).
func (m *replicaMap) written(chunks []proto.ChunkTargets) {
	for _, wr := range chunks {
		ids := make([]proto.NodeID, len(wr.Targets))
		for i, t := range wr.Targets {
			ids[i] = t.ID
		}
		m.added(wr.ID, ids)
	}
}

// holds reports whether node holds a replica of c.
func (m *replicaMap) holds(c proto.ChunkID, node proto.NodeID) bool {
	_, ok := slices.BinarySearch(m.byChunk[c], node)
	return ok
}

func (m *replicaMap) link(c proto.ChunkID, node proto.NodeID) {
	if i, ok := slices.BinarySearch(m.byChunk[c], node); !ok {
		m.byChunk[c] = slices.Insert(slices.Clip(m.byChunk[c]), i, node) // a new array: snapshots keep the old
	}
	if m.byNode[node] == nil {
		m.byNode[node] = map[proto.ChunkID]bool{}
	}
	m.byNode[node][c] = true
}

func (m *replicaMap) unlink(c proto.ChunkID, node proto.NodeID) {
	if i, ok := slices.BinarySearch(m.byChunk[c], node); ok {
		if len(m.byChunk[c]) == 1 {
			delete(m.byChunk, c)
			delete(m.size, c)
		} else {
			m.byChunk[c] = slices.Delete(slices.Clone(m.byChunk[c]), i, i+1) // a new array: snapshots keep the old
		}
	}
	delete(m.byNode[node], c)
}

// markCorrupt records a replica that failed verification; it no longer
// counts and is not offered to readers.
func (m *replicaMap) markCorrupt(chunk proto.ChunkID, node proto.NodeID, reason string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	if !m.holds(chunk, node) {
		// Not (or no longer) held there: a scrubber's report that crossed
		// the replica's deletion in one heartbeat, or a stale reader. A
		// mark would outlive the replica and count as corrupt forever.
		return
	}
	if m.corrupt[chunk] == nil {
		m.corrupt[chunk] = map[proto.NodeID]string{}
	}
	m.corrupt[chunk][node] = reason
}

// holders returns the nodes holding a good replica of chunk, sorted.
func (m *replicaMap) holders(chunk proto.ChunkID) []proto.NodeID {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []proto.NodeID
	for _, n := range m.byChunk[chunk] {
		if _, bad := m.corrupt[chunk][n]; !bad {
			out = append(out, n)
		}
	}
	return out
}

// corruptCount returns how many chunks have a replica known to be corrupt.
func (m *replicaMap) corruptCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, nodes := range m.corrupt {
		if len(nodes) > 0 {
			n++
		}
	}
	return n
}

// chunks returns every chunk some node reported, sorted.
func (m *replicaMap) chunks() []proto.ChunkID {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.byChunk))
}

// count returns how many chunks node holds according to its reports.
func (m *replicaMap) count(node proto.NodeID) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.byNode[node])
}

// hasReported reports whether node sent a full report to this leader.
func (m *replicaMap) hasReported(node proto.NodeID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reported[node]
}

// snapshot copies the replica locations and corrupt marks. The holder
// slices are shared with the map and must not be changed.
func (m *replicaMap) snapshot() (map[proto.ChunkID][]proto.NodeID, map[proto.ChunkID]map[proto.NodeID]bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.byChunk), m.copyCorrupt()
}

// snapshotSized copies the replica locations, corrupt marks and sizes.
func (m *replicaMap) snapshotSized() (map[proto.ChunkID][]proto.NodeID, map[proto.ChunkID]map[proto.NodeID]bool, map[proto.ChunkID]int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.byChunk), m.copyCorrupt(), maps.Clone(m.size)
}

// copyCorrupt copies the corrupt marks; the caller holds mu.
func (m *replicaMap) copyCorrupt() map[proto.ChunkID]map[proto.NodeID]bool {
	corrupt := make(map[proto.ChunkID]map[proto.NodeID]bool, len(m.corrupt))
	for c, nodes := range m.corrupt {
		corrupt[c] = map[proto.NodeID]bool{}
		for n := range nodes {
			corrupt[c][n] = true
		}
	}
	return corrupt
}
