package placement

import "slices"

// candidate is an eligible server with its rendezvous key for one chunk.
type candidate struct {
	key  float64
	node int32
}

// before orders candidates by key, then by server index (ID order), so ties,
// however unlikely, break the same way everywhere.
func (c candidate) before(d candidate) bool {
	return c.key < d.key || c.key == d.key && c.node < d.node
}

// selection collects, for one decision, the best few candidates of every
// rack, each rack's list sorted by key. A rack never contributes more than
// need replicas, so need slots per rack (fewer for small racks) suffice and
// the whole table is at most one slot per server.
type selection struct {
	slots    []candidate
	start    []int // rack k owns slots[start[k]:start[k+1]]
	filled   []int // slots in use per rack
	taken    []int // slots already picked per rack
	occ      []int // replicas per rack: holders, then picks
	heads    []int // scratch for fill
	eligible int   // candidates offered, including those that fell off
}

func newSelection(r *Ring, need int) selection {
	nr := len(r.racks)
	ints := make([]int, 5*nr+1)
	s := selection{
		start:  ints[:nr+1],
		filled: ints[nr+1 : 2*nr+1],
		taken:  ints[2*nr+1 : 3*nr+1],
		occ:    ints[3*nr+1 : 4*nr+1],
		heads:  ints[4*nr+1 : 4*nr+1 : 5*nr+1],
	}
	for k, size := range r.rackSize {
		s.start[k+1] = s.start[k] + min(need, size)
	}
	s.slots = make([]candidate, s.start[nr])
	return s
}

// offer adds c to rack k's list if it is among the rack's best.
func (s *selection) offer(k int, c candidate) {
	s.eligible++
	lo, end := s.start[k], s.start[k+1]
	if lo == end {
		return
	}
	j := lo + s.filled[k]
	if j == end { // full: c replaces the worst, if better
		if !c.before(s.slots[end-1]) {
			return
		}
		j = end - 1
	} else {
		s.filled[k]++
	}
	for j > lo && c.before(s.slots[j-1]) {
		s.slots[j] = s.slots[j-1]
		j--
	}
	s.slots[j] = c
}

// head returns rack k's best candidate not yet picked.
func (s *selection) head(k int) candidate { return s.slots[s.start[k]+s.taken[k]] }

func (s *selection) hasMore(k int) bool { return s.taken[k] < s.filled[k] }

// fill picks count servers by water-filling the racks: at level L every rack
// that holds fewer than L replicas (occ, counting existing holders) and still
// has candidates gets one more, best key first, until count are picked.
// Level 1 gives every rack at most one replica, so replicas land on distinct
// racks whenever enough racks have room; otherwise the sharing is as even as
// the racks allow. The caller guarantees that enough candidates exist.
func (s *selection) fill(r *Ring, count int) []string {
	picks := make([]string, 0, count)
	for level := 1; len(picks) < count; level++ {
		heads := s.heads[:0]
		lowest := -1 // least occupancy among racks with candidates
		for k, occ := range s.occ {
			if !s.hasMore(k) {
				continue
			}
			if occ < level {
				heads = append(heads, k)
			}
			if lowest < 0 || occ < lowest {
				lowest = occ
			}
		}
		if lowest < 0 {
			break // out of candidates; cannot happen for a valid caller
		}
		if len(heads) == 0 {
			level = lowest // skip levels no rack can use; loop adds one
			continue
		}
		slices.SortFunc(heads, s.cmpHeads)
		for _, k := range heads[:min(len(heads), count-len(picks))] {
			picks = append(picks, r.nodes[s.head(k).node].ID)
			s.taken[k]++
			s.occ[k]++
		}
	}
	return picks
}

func (s *selection) cmpHeads(a, b int) int {
	ha, hb := s.head(a), s.head(b)
	switch {
	case ha.before(hb):
		return -1
	case hb.before(ha):
		return 1
	}
	return 0
}
