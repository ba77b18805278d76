package master

import (
	"fmt"
	"slices"
	"strings"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/repair"
)

// storageByPolicy totals the data of one planning input by data policy:
// replicated chunks by their replication target (logical: one copy's
// bytes; stored: the bytes of every reported replica), stripes by their
// K and M (logical: the stripe's data; stored: its reported shards). Bytes
// come from the chunk servers' reports, so chunks not reported yet count
// as empty.
func storageByPolicy(in *repair.Input, stripes stripeSet) []proto.PolicyStorage {
	by := map[string]*proto.PolicyStorage{}
	add := func(policy string, logical, stored int64) {
		u := by[policy]
		if u == nil {
			u = &proto.PolicyStorage{Policy: policy}
			by[policy] = u
		}
		u.Chunks++
		u.LogicalBytes += logical
		u.StoredBytes += stored
	}
	for c, target := range in.Refs {
		size := in.Sizes[c]
		add(fmt.Sprintf("rep-%d", target), size, size*int64(len(in.Holders[c])))
	}
	for _, rec := range stripes.records {
		var stored int64
		for _, id := range rec.Shards {
			stored += in.Sizes[id] * int64(len(in.Holders[id]))
		}
		add(fmt.Sprintf("rs-%d-%d", rec.K, rec.M), rec.Size, stored)
	}
	out := make([]proto.PolicyStorage, 0, len(by))
	for _, u := range by {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b proto.PolicyStorage) int { return strings.Compare(a.Policy, b.Policy) })
	return out
}

// storageUsage returns the totals of the last repair round.
func (h *healer) storageUsage() []proto.PolicyStorage {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.storage)
}
