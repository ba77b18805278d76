package placement

import (
	"cmp"
	"fmt"
	"math"
)

// trimEntry is one holder considered for removal.
type trimEntry struct {
	id       string
	rack     string // unknown holders get a rack of their own
	unusable bool   // dead, decommissioned or unknown
	draining bool
	fullness float64
	hash     uint64
	removed  bool
}

// ChooseTrim picks which replicas of an over-replicated chunk to delete so
// that keep remain, in the order to delete them. One at a time it removes:
// dead, decommissioned and unknown holders first; then a holder from the
// rack with the most remaining holders (so the kept replicas span as many
// racks as possible, as evenly as possible); then a draining holder before
// an alive one; then the fuller server (Used/Capacity); then by a hash of
// chunk and ID. It returns nil when len(holders) <= keep, and fails with
// ErrInvalidRequest when keep < 1.
func (r *Ring) ChooseTrim(holders []string, keep int, chunk uint64) ([]string, error) {
	if keep < 1 {
		return nil, fmt.Errorf("placement: trim chunk %d: keep %d, want at least 1: %w", chunk, keep, ErrInvalidRequest)
	}
	idx, err := r.holderSet("trim", chunk, holders)
	if err != nil {
		return nil, err
	}
	if len(holders) <= keep {
		return nil, nil
	}
	entries := r.trimEntries(holders, idx, chunk)
	victims := make([]string, 0, len(holders)-keep)
	for range len(holders) - keep {
		v := pickVictim(entries)
		entries[v].removed = true
		victims = append(victims, entries[v].id)
	}
	return victims, nil
}

func (r *Ring) trimEntries(holders []string, idx []int, chunk uint64) []trimEntry {
	ch := chunkHash(chunk, saltTrim)
	entries := make([]trimEntry, len(holders))
	for k, id := range holders {
		e := trimEntry{id: id, rack: "\x00unknown\x00" + id, unusable: true, fullness: math.Inf(1)}
		e.hash = pairHash(ch, hashString(id))
		if i := idx[k]; i >= 0 {
			n := &r.nodes[i]
			e.rack = n.Rack
			e.unusable = n.State == Dead || n.State == Decommissioned
			e.draining = n.State == Draining
			e.fullness = n.fullness()
		}
		entries[k] = e
	}
	return entries
}

// pickVictim returns the index of the remaining entry to remove next.
func pickVictim(entries []trimEntry) int {
	crowd := make(map[string]int, len(entries))
	for _, e := range entries {
		if !e.removed {
			crowd[e.rack]++
		}
	}
	best := -1
	for i := range entries {
		if entries[i].removed {
			continue
		}
		if best < 0 || cmpVictim(&entries[i], &entries[best], crowd) < 0 {
			best = i
		}
	}
	return best
}

// cmpVictim returns a negative number if a should be removed before b.
func cmpVictim(a, b *trimEntry, crowd map[string]int) int {
	if a.unusable != b.unusable {
		return boolFirst(a.unusable)
	}
	if c := cmp.Compare(crowd[b.rack], crowd[a.rack]); c != 0 {
		return c
	}
	if a.draining != b.draining {
		return boolFirst(a.draining)
	}
	if c := cmp.Compare(b.fullness, a.fullness); c != 0 {
		return c
	}
	if c := cmp.Compare(a.hash, b.hash); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// boolFirst returns -1 if the true side (a) goes first, else 1.
func boolFirst(a bool) int {
	if a {
		return -1
	}
	return 1
}

// ChooseTrim is NewRing(servers, DefaultOptions()) followed by
// Ring.ChooseTrim.
func ChooseTrim(servers []Server, holders []string, keep int, chunk uint64) ([]string, error) {
	r, err := NewRing(servers, DefaultOptions())
	if err != nil {
		return nil, err
	}
	return r.ChooseTrim(holders, keep, chunk)
}
