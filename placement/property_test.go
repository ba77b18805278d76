package placement

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

const propChunks = 100_000 // chunk ids per cluster in the statistical tests

// shareStats compares observed counts with expected shares.
type shareStats struct {
	maxZ   float64 // largest |observed-expected| in binomial standard deviations
	maxRel float64 // largest |observed/expected-1| among servers expecting >= 2000
	tvd    float64 // total variation distance between observed and expected shares
}

func compareShares(counts map[string]int, weights map[string]float64, total int) shareStats {
	var st shareStats
	var wsum float64
	for _, w := range weights {
		wsum += w
	}
	for id, w := range weights {
		p := w / wsum
		exp := p * float64(total)
		obs := float64(counts[id])
		st.maxZ = max(st.maxZ, math.Abs(obs-exp)/math.Sqrt(exp*(1-p)))
		if exp >= 2000 {
			st.maxRel = max(st.maxRel, math.Abs(obs/exp-1))
		}
		st.tvd += math.Abs(obs/float64(total)-p) / 2
	}
	return st
}

// TestShareFollowsCapacity checks that primaries (Count 1) land on each
// server in proportion to its weight: capacity, scaled down by load when
// LoadBias is set.
func TestShareFollowsCapacity(t *testing.T) {
	var worst shareStats
	for seed := range uint64(6) {
		rng := rand.New(rand.NewPCG(seed, 1))
		spec := clusterSpec{servers: 5 + rng.IntN(26), racks: 1 + rng.IntN(5), mixed: true}
		servers := randCluster(rng, spec)
		opt := DefaultOptions()
		if seed%2 == 1 { // odd seeds: random load, biased weights
			for i := range servers {
				servers[i].Load = rng.Float64()
			}
		}
		weights := map[string]float64{}
		for _, s := range servers {
			weights[s.ID] = float64(s.Capacity) * (1 - opt.LoadBias*s.Load)
		}
		counts := countPlacements(t, servers, opt, 1)
		st := compareShares(counts, weights, propChunks)
		t.Logf("seed %d: %d servers, %d racks: max z %.2f, max rel dev %.2f%%, TVD %.2f%%",
			seed, spec.servers, spec.racks, st.maxZ, 100*st.maxRel, 100*st.tvd)
		worst = shareStats{max(worst.maxZ, st.maxZ), max(worst.maxRel, st.maxRel), max(worst.tvd, st.tvd)}
	}
	t.Logf("worst: max z %.2f, max rel dev %.2f%%, TVD %.2f%%", worst.maxZ, 100*worst.maxRel, 100*worst.tvd)
	// One standard deviation of a 2000-chunk share is 2.2%, so 6% is about
	// 2.7 sigma for the smallest servers measured; z bounds everything.
	if worst.maxZ > 4.5 || worst.maxRel > 0.06 || worst.tvd > 0.02 {
		t.Errorf("shares stray from weights: %+v", worst)
	}
}

// TestReplicaShareRackBalanced checks replica shares with Count 3 on three
// racks of equal total capacity: every rack takes one replica of every
// chunk, and inside a rack servers share by capacity.
func TestReplicaShareRackBalanced(t *testing.T) {
	var servers []Server
	for rack, caps := range [][]int64{{8, 4, 4}, {16}, {2, 6, 4, 4}} {
		for i, c := range caps {
			servers = append(servers, Server{ID: fmt.Sprintf("r%d-s%d", rack, i), Rack: fmt.Sprint(rack), Capacity: c * unit})
		}
	}
	counts := countPlacements(t, servers, DefaultOptions(), 3)
	weights := map[string]float64{}
	for _, s := range servers {
		weights[s.ID] = float64(s.Capacity)
	}
	st := compareShares(counts, weights, 3*propChunks)
	t.Logf("replica shares: max z %.2f, max rel dev %.2f%%, TVD %.2f%%", st.maxZ, 100*st.maxRel, 100*st.tvd)
	if st.maxZ > 4.5 || st.maxRel > 0.05 {
		t.Errorf("replica shares stray from weights: %+v (counts %v)", st, counts)
	}
}

// countPlacements places propChunks chunks with count replicas each and
// counts replicas per server.
func countPlacements(t *testing.T, servers []Server, opt Options, count int) map[string]int {
	t.Helper()
	r, err := NewRing(servers, opt)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for c := range uint64(propChunks) {
		ids, err := r.Choose(Request{Chunk: c, Count: count})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			counts[id]++
		}
	}
	return counts
}

// placeAll returns the replica sets of propChunks chunks.
func placeAll(t *testing.T, servers []Server, count int) [][]string {
	t.Helper()
	r, err := NewRing(servers, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	out := make([][]string, propChunks)
	for c := range out {
		if out[c], err = r.Choose(Request{Chunk: uint64(c), Count: count}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// moved counts replicas in after that are not in before, and replicas of
// after (or before, for a removal) that sit on server id.
func moved(before, after [][]string, id string) (changed, onID int) {
	for c := range before {
		for _, s := range after[c] {
			if !slices.Contains(before[c], s) {
				changed++
			}
		}
		if slices.Contains(after[c], id) || slices.Contains(before[c], id) {
			onID++
		}
	}
	return changed, onID
}
