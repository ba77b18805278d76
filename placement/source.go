package placement

import (
	"cmp"
	"fmt"
)

// holderSet resolves a holder list against the ring: the index of each
// holder (-1 if unknown), and an error for duplicates or an empty list.
func (r *Ring) holderSet(op string, chunk uint64, holders []string) ([]int, error) {
	if len(holders) == 0 {
		return nil, fmt.Errorf("placement: %s chunk %d: no holders: %w", op, chunk, ErrInvalidRequest)
	}
	idx := make([]int, len(holders))
	seen := make(map[string]bool, len(holders))
	for i, id := range holders {
		if seen[id] {
			return nil, fmt.Errorf("placement: %s chunk %d: holder %q listed twice: %w", op, chunk, id, ErrDuplicateID)
		}
		seen[id] = true
		idx[i] = -1
		if j, ok := r.byID[id]; ok {
			idx[i] = j
		}
	}
	return idx, nil
}

// ChooseSource picks the holder of chunk to copy from during repair: an
// Alive holder before a Draining one, then the least loaded, then a hash of
// chunk and server ID, so equally loaded holders share the repair reads
// evenly and deterministically. Dead, decommissioned and unknown holders are
// never chosen; if nothing else is left it fails with ErrNoSource.
func (r *Ring) ChooseSource(holders []string, chunk uint64) (string, error) {
	idx, err := r.holderSet("source", chunk, holders)
	if err != nil {
		return "", err
	}
	best := -1
	var tally [numReasons]int
	ch := chunkHash(chunk, saltSource)
	for _, i := range idx {
		why := reasonUnknown
		if i >= 0 {
			why = r.sourceReason(i)
		}
		if why != reasonOK {
			tally[why]++
			continue
		}
		if best < 0 || r.cmpSource(i, best, ch) < 0 {
			best = i
		}
	}
	if best < 0 {
		return "", fmt.Errorf("placement: source chunk %d: %d holders, none usable (%s): %w",
			chunk, len(holders), describe(&tally, 0), ErrNoSource)
	}
	return r.nodes[best].ID, nil
}

// sourceReason says whether server i can serve reads.
func (r *Ring) sourceReason(i int) reason {
	switch r.nodes[i].State {
	case Dead:
		return reasonDead
	case Decommissioned:
		return reasonDecommissioned
	}
	return reasonOK
}

// cmpSource orders source candidates: Alive first, then least loaded, then
// by hash, then by ID.
func (r *Ring) cmpSource(i, j int, ch uint64) int {
	a, b := &r.nodes[i], &r.nodes[j]
	if c := cmp.Compare(a.State, b.State); c != 0 { // Alive < Draining
		return c
	}
	if c := cmp.Compare(a.load(), b.load()); c != 0 {
		return c
	}
	if c := cmp.Compare(pairHash(ch, a.hash), pairHash(ch, b.hash)); c != 0 {
		return c
	}
	return cmp.Compare(i, j)
}

// ChooseSource is NewRing(servers, DefaultOptions()) followed by
// Ring.ChooseSource.
func ChooseSource(servers []Server, holders []string, chunk uint64) (string, error) {
	r, err := NewRing(servers, DefaultOptions())
	if err != nil {
		return "", err
	}
	return r.ChooseSource(holders, chunk)
}
