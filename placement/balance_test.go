package placement

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// balanceCluster fills a random cluster to about half its capacity with
// chunks of 64-256 MiB placed by Choose (3 replicas), sets Used from them,
// then adds fresh, empty servers.
func balanceCluster(t *testing.T, rng *rand.Rand, nservers, racks, fresh int) ([]Server, []ChunkInfo) {
	t.Helper()
	servers := randCluster(rng, clusterSpec{servers: nservers, racks: racks, mixed: true})
	var total int64
	for i := range servers {
		servers[i].Capacity /= 256 // 4-64 GiB, so single chunks matter
		total += servers[i].Capacity
	}
	r, err := NewRing(servers, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]int64{}
	var chunks []ChunkInfo
	for c, placed := uint64(0), int64(0); placed < total/2; c++ {
		size := (1 + rng.Int64N(4)) << 26
		ids, err := r.Choose(Request{Chunk: c, Count: min(3, nservers), Size: size})
		if err != nil {
			t.Fatal(err)
		}
		chunks = append(chunks, ChunkInfo{ID: c, Size: size, Holders: ids})
		for _, id := range ids {
			used[id] += size
			placed += size
		}
	}
	for i := range servers {
		servers[i].Used = used[servers[i].ID]
	}
	for i := range fresh {
		servers = append(servers, Server{ID: fmt.Sprintf("new%d", i), Rack: fmt.Sprintf("r%d", rng.IntN(racks)), Capacity: 8 * unit / 256})
	}
	return servers, chunks
}

// applyMoves checks every move against the rules and returns the usage
// after all of them.
func applyMoves(servers []Server, chunks []ChunkInfo, moves []Move) (map[string]int64, error) {
	byID := map[string]Server{}
	used := map[string]int64{}
	for _, s := range servers {
		byID[s.ID], used[s.ID] = s, s.Used
	}
	holders := map[uint64][]string{}
	size := map[uint64]int64{}
	for _, c := range chunks {
		holders[c.ID], size[c.ID] = slices.Clone(c.Holders), c.Size
	}
	spread := func(hs []string) int {
		racks := map[string]bool{}
		for _, h := range hs {
			racks[byID[h].Rack] = true
		}
		return len(racks)
	}
	for _, m := range moves {
		hs := holders[m.Chunk]
		from, to := byID[m.From], byID[m.To]
		switch {
		case !slices.Contains(hs, m.From) || slices.Contains(hs, m.To):
			return nil, fmt.Errorf("%+v: holders %v", m, hs)
		case from.State != Alive || to.State != Alive:
			return nil, fmt.Errorf("%+v: not alive", m)
		case float64(used[m.To]+size[m.Chunk]) > 0.95*float64(to.Capacity):
			return nil, fmt.Errorf("%+v: target full", m)
		}
		after := slices.Clone(hs)
		after[slices.Index(after, m.From)] = m.To
		if spread(after) < spread(hs) {
			return nil, fmt.Errorf("%+v: rack spread %d -> %d", m, spread(hs), spread(after))
		}
		holders[m.Chunk] = after
		used[m.From] -= size[m.Chunk]
		used[m.To] += size[m.Chunk]
	}
	return used, nil
}

// deviation returns the largest |ratio - mean| over alive servers.
func deviation(servers []Server, used map[string]int64) float64 {
	var u, c float64
	for _, s := range servers {
		if s.State == Alive && s.Capacity > 0 {
			u += float64(used[s.ID])
			c += float64(s.Capacity)
		}
	}
	worst := 0.0
	for _, s := range servers {
		if s.State == Alive && s.Capacity > 0 {
			worst = max(worst, math.Abs(float64(used[s.ID])/float64(s.Capacity)-u/c))
		}
	}
	return worst
}

// potential is the sum of Used^2/Capacity over alive servers: the
// capacity-weighted variance of usage ratios, up to constants.
func potential(servers []Server, used map[string]int64) float64 {
	p := 0.0
	for _, s := range servers {
		if s.State == Alive && s.Capacity > 0 {
			p += float64(used[s.ID]) * float64(used[s.ID]) / float64(s.Capacity)
		}
	}
	return p
}

// TestPlanBalanceProperties balances random clusters with new, empty servers
// and checks that every move is legal, that the plan lowers the variance,
// that it ends at a fixed point (planning again finds nothing), that
// single-rack clusters end within the threshold (up to one chunk), and that
// it is deterministic, with maxMoves cutting a prefix.
func TestPlanBalanceProperties(t *testing.T) {
	const threshold = 0.05
	for seed := range uint64(8) {
		rng := rand.New(rand.NewPCG(seed, 8))
		racks := 1 + rng.IntN(5)
		if seed < 2 {
			racks = 1
		}
		servers, chunks := balanceCluster(t, rng, 6+rng.IntN(15), racks, 1+rng.IntN(3))
		initial := map[string]int64{}
		for _, s := range servers {
			initial[s.ID] = s.Used
		}
		moves := PlanBalance(servers, chunks, threshold, 100_000)
		used, err := applyMoves(servers, chunks, moves)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		before, after := deviation(servers, initial), deviation(servers, used)
		t.Logf("seed %d (%d servers, %d racks, %d chunks): %d moves, max deviation %.3f -> %.3f", seed, len(servers), racks, len(chunks), len(moves), before, after)
		if len(moves) == 0 || potential(servers, used) >= potential(servers, initial) || after > before {
			t.Errorf("seed %d: no progress", seed)
		}
		if racks == 1 && after > threshold+0.0625 { // chunks are up to 1/16 of the smallest server
			t.Errorf("seed %d: one rack, still %.3f off the mean", seed, after)
		}
		checkFixpoint(t, servers, chunks, moves, used)
		if again := PlanBalance(shuffled(rng, servers), shuffled(rng, chunks), threshold, 100_000); !slices.Equal(again, moves) {
			t.Fatalf("seed %d: shuffled input changed the plan", seed)
		}
		if k := len(moves) / 2; !slices.Equal(PlanBalance(servers, chunks, threshold, k), moves[:k]) {
			t.Fatalf("seed %d: maxMoves %d is not a prefix of the full plan", seed, k)
		}
	}
}

// checkFixpoint applies moves and expects a second plan (with the moved
// chunks pinned, as PlanBalance moves each chunk once) to find nothing.
func checkFixpoint(t *testing.T, servers []Server, chunks []ChunkInfo, moves []Move, used map[string]int64) {
	t.Helper()
	movedChunks := map[uint64]bool{}
	for _, m := range moves {
		movedChunks[m.Chunk] = true
	}
	var rest []ChunkInfo
	for _, c := range chunks {
		if !movedChunks[c.ID] {
			rest = append(rest, c)
		}
	}
	now := slices.Clone(servers)
	for i := range now {
		now[i].Used = used[now[i].ID]
	}
	if more := PlanBalance(now, rest, 0.05, 100_000); len(more) > 0 {
		t.Errorf("not a fixed point: %d more moves, first %+v", len(more), more[0])
	}
}

func TestPlanBalanceEdgeCases(t *testing.T) {
	even := []Server{{ID: "a", Rack: "x", Capacity: 100, Used: 50}, {ID: "b", Rack: "y", Capacity: 200, Used: 100}}
	skewed := []Server{{ID: "a", Rack: "x", Capacity: 100, Used: 90}, {ID: "b", Rack: "x", Capacity: 100, Used: 10}}
	chunks := []ChunkInfo{{ID: 1, Size: 40, Holders: []string{"a"}}, {ID: 2, Size: 30, Holders: []string{"a"}}}
	tests := []struct {
		name      string
		servers   []Server
		chunks    []ChunkInfo
		threshold float64
		maxMoves  int
		want      []Move
	}{
		{"balanced", even, chunks, 0.1, 10, nil},
		{"skewed", skewed, chunks, 0.1, 10, []Move{{Chunk: 1, From: "a", To: "b"}}},
		{"max moves zero", skewed, chunks, 0.1, 0, nil},
		{"threshold zero", skewed, chunks, 0, 10, nil},
		{"threshold NaN", skewed, chunks, math.NaN(), 10, nil},
		{"duplicate servers", append(skewed, skewed[0]), chunks, 0.1, 10, nil},
		{"no chunks", skewed, nil, 0.1, 10, nil},
		{"no servers", nil, chunks, 0.1, 10, nil},
		{"duplicate chunk ids ignored", skewed, append(chunks, ChunkInfo{ID: 1, Size: 40, Holders: []string{"a"}}), 0.1, 10, []Move{{Chunk: 2, From: "a", To: "b"}}},
		{"target dead", with(skewed, "b", dead), chunks, 0.1, 10, nil},
		{"spread kept", []Server{{ID: "a", Rack: "x", Capacity: 100, Used: 90}, {ID: "b", Rack: "y", Capacity: 100, Used: 90}, {ID: "c", Rack: "y", Capacity: 100, Used: 0}},
			[]ChunkInfo{{ID: 1, Size: 40, Holders: []string{"a", "b"}}}, 0.1, 10, []Move{{Chunk: 1, From: "b", To: "c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanBalance(tt.servers, tt.chunks, tt.threshold, tt.maxMoves)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("PlanBalance = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPlanBalanceKeepsGroupsApart: the shards of erasure-coded stripes (a
// group each) move to fresh servers, but never onto a server holding
// another shard of their stripe, and never so that a stripe spans fewer
// racks; moves are checked one after the other, as they apply.
func TestPlanBalanceKeepsGroupsApart(t *testing.T) {
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 7))
		servers := randCluster(rng, clusterSpec{servers: 8 + rng.IntN(8), racks: 2 + rng.IntN(4)})
		r, err := NewRing(servers, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		used := map[string]int64{}
		var chunks []ChunkInfo
		width := 3 + rng.IntN(4) // K+M
		for g := uint64(1); g <= 40; g++ {
			ids, err := r.Choose(Request{Chunk: g, Count: width, Size: unit / 8})
			if err != nil {
				t.Fatal(err)
			}
			for i, id := range ids { // shard i of stripe g on its own server
				chunks = append(chunks, ChunkInfo{ID: g<<8 | uint64(i), Size: unit / 8, Holders: []string{id}, Group: g})
				used[id] += unit / 8
			}
		}
		for i := range servers {
			servers[i].Used = used[servers[i].ID]
		}
		for i := range 3 {
			servers = append(servers, Server{ID: fmt.Sprintf("new%d", i), Rack: fmt.Sprintf("r%d", i), Capacity: 4 * unit})
		}
		moves := PlanBalance(servers, chunks, 0.05, 1000)
		if len(moves) == 0 {
			t.Fatalf("seed %d: no shard moved to the fresh servers", seed)
		}
		rack := map[string]string{}
		for _, s := range servers {
			rack[s.ID] = s.Rack
		}
		holder := map[uint64]string{}
		for _, c := range chunks {
			holder[c.ID] = c.Holders[0]
		}
		racksOf := func(g uint64) int {
			seen := map[string]bool{}
			for c, h := range holder {
				if c>>8 == g {
					seen[rack[h]] = true
				}
			}
			return len(seen)
		}
		for _, m := range moves {
			g := m.Chunk >> 8
			if holder[m.Chunk] != m.From {
				t.Fatalf("seed %d: move %+v takes shard from a server not holding it", seed, m)
			}
			for c, h := range holder {
				if c>>8 == g && c != m.Chunk && h == m.To {
					t.Fatalf("seed %d: move %+v puts a second shard of stripe %d on %s", seed, m, g, m.To)
				}
			}
			before := racksOf(g)
			holder[m.Chunk] = m.To
			if after := racksOf(g); after < before {
				t.Fatalf("seed %d: move %+v narrows stripe %d from %d racks to %d", seed, m, g, before, after)
			}
		}
	}
}
