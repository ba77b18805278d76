package placement

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// randRequest draws a request against servers: 1-6 replicas, a few
// excluded servers and holders (sometimes unknown IDs), and a chunk-sized
// or tiny Size.
func randRequest(rng *rand.Rand, servers []Server) Request {
	req := Request{Chunk: rng.Uint64(), Count: 1 + rng.IntN(6)}
	pick := func() string {
		if len(servers) == 0 || rng.IntN(8) == 0 {
			return fmt.Sprintf("ghost%d", rng.IntN(3))
		}
		return servers[rng.IntN(len(servers))].ID
	}
	for range rng.IntN(3) {
		req.Exclude = append(req.Exclude, pick())
	}
	for range rng.IntN(4) {
		req.Holders = append(req.Holders, pick())
	}
	if rng.IntN(2) == 0 {
		req.Size = 64 << 20
	} else {
		req.Size = rng.Int64N(unit)
	}
	return req
}

// TestConstraintsHold places random requests on random messy clusters (dead,
// draining, full, zero-capacity and loaded servers; 1-5 racks) and checks
// every result against the rules, against a slow reference version, and for
// determinism under shuffled input.
func TestConstraintsHold(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	checked, failed := 0, 0
	for cluster := range 300 {
		spec := clusterSpec{servers: rng.IntN(25), racks: 1 + rng.IntN(5), mixed: true, messy: true}
		servers := randCluster(rng, spec)
		opt := DefaultOptions()
		opt.FullThreshold = []float64{0.95, 0.8, 1}[cluster%3]
		opt.LoadBias = []float64{0.5, 0, 0.9}[cluster%3]
		r, err := NewRing(servers, opt)
		if err != nil {
			t.Fatal(err)
		}
		for range 40 {
			req := randRequest(rng, servers)
			got, err := r.Choose(req)
			checked++
			if err != nil {
				failed++
			}
			if cerr := checkPlacement(servers, req, opt, got, err); cerr != nil {
				t.Fatalf("cluster %d %+v: %v\nservers %+v", cluster, req, cerr, servers)
			}
			if err == nil && !slices.Equal(got, refChoose(servers, req, opt)) {
				t.Fatalf("cluster %d %+v: got %v, reference %v", cluster, req, got, refChoose(servers, req, opt))
			}
			checkDeterministic(t, rng, servers, req, opt, got, err)
		}
	}
	t.Logf("%d requests checked, %d failed with a justified error", checked, failed)
}

// checkDeterministic repeats a decision with shuffled servers, exclusions and
// holders and expects the same answer, error included.
func checkDeterministic(t *testing.T, rng *rand.Rand, servers []Server, req Request, opt Options, want []string, wantErr error) {
	t.Helper()
	req2 := req
	req2.Exclude = shuffled(rng, req.Exclude)
	req2.Holders = shuffled(rng, req.Holders)
	got, err := Choose(shuffled(rng, servers), req2, opt)
	if !slices.Equal(got, want) || fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("shuffled input changed the answer: %v, %v; want %v, %v", got, err, want, wantErr)
	}
}

// TestPrefixProperty checks that a request for k replicas returns the first
// k of a request for more: a retried pipeline can ask for one more target
// and keep the rest.
func TestPrefixProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	tried, longest := 0, 0
	for range 50 {
		servers := randCluster(rng, clusterSpec{servers: 3 + rng.IntN(20), racks: 1 + rng.IntN(5), mixed: true})
		r, err := NewRing(servers, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		for range 20 {
			req := randRequest(rng, servers)
			var all []string
			for req.Count = len(servers); req.Count > 0 && all == nil; req.Count-- {
				all, _ = r.Choose(req)
			}
			tried++
			longest = max(longest, len(all))
			for k := 1; k < len(all); k++ {
				req.Count = k
				if got, _ := r.Choose(req); !slices.Equal(got, all[:k]) {
					t.Fatalf("count %d: %v, not a prefix of %v", k, got, all)
				}
			}
		}
	}
	t.Logf("%d requests, longest answer %d servers", tried, longest)
}

// TestRackSpread spells out the rack rules on small clusters.
func TestRackSpread(t *testing.T) {
	tests := []struct {
		name    string
		racks   []string // rack of each server
		count   int
		holders []int // indices of holders
		want    map[string]int
	}{
		{"distinct racks", []string{"a", "a", "b", "b", "c", "c"}, 3, nil, map[string]int{"a": 1, "b": 1, "c": 1}},
		{"two racks share evenly", []string{"a", "a", "a", "b", "b", "b"}, 4, nil, map[string]int{"a": 2, "b": 2}},
		{"small rack runs out", []string{"a", "b", "b", "b", "b"}, 4, nil, map[string]int{"a": 1, "b": 3}},
		{"holders' racks last", []string{"a", "a", "b", "b", "c", "c"}, 1, []int{0, 2}, map[string]int{"c": 1}},
		{"holders' racks fill up", []string{"a", "a", "a", "b", "b", "b"}, 2, []int{0, 1}, map[string]int{"b": 2}},
		{"one rack", []string{"a", "a", "a"}, 3, nil, map[string]int{"a": 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var servers []Server
			var holders []string
			for i, rack := range tt.racks {
				servers = append(servers, Server{ID: fmt.Sprintf("s%d", i), Rack: rack, Capacity: unit})
				if slices.Contains(tt.holders, i) {
					holders = append(holders, servers[i].ID)
				}
			}
			for chunk := range uint64(50) {
				got, err := Choose(servers, Request{Chunk: chunk, Count: tt.count, Holders: holders}, DefaultOptions())
				if err != nil {
					t.Fatal(err)
				}
				perRack := map[string]int{}
				for _, id := range got {
					perRack[tt.racks[idIndex(id)]]++
				}
				if fmt.Sprint(perRack) != fmt.Sprint(tt.want) {
					t.Fatalf("chunk %d: %v spreads %v, want %v", chunk, got, perRack, tt.want)
				}
			}
		})
	}
}

func idIndex(id string) int {
	var i int
	fmt.Sscanf(id, "s%d", &i)
	return i
}
