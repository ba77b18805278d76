package placement

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMovementOnJoinAndLeave adds and removes one server and counts the
// replicas that change place. The floor is the replicas the joining server
// ends up with (or the leaving one had): any scheme has to move those.
// Primaries (the first choice, the same as a Count 1 placement) are also
// compared with the server's capacity share and with 1/N.
func TestMovementOnJoinAndLeave(t *testing.T) {
	worst := 0.0
	for seed := range uint64(3) {
		rng := rand.New(rand.NewPCG(seed, 2))
		spec := clusterSpec{servers: 8 + rng.IntN(20), racks: 1 + rng.IntN(5), mixed: seed > 0}
		servers := randCluster(rng, spec)
		joiner := Server{ID: "joiner", Rack: fmt.Sprintf("r%d", rng.IntN(spec.racks+1)), Capacity: servers[0].Capacity}
		leaver := servers[rng.IntN(len(servers))]
		base := placeAll(t, servers, 3)
		for _, step := range []struct {
			name  string
			after []Server
			who   Server
		}{
			{"join", append(slices.Clone(servers), joiner), joiner},
			{"leave", slices.DeleteFunc(slices.Clone(servers), func(s Server) bool { return s.ID == leaver.ID }), leaver},
		} {
			after := placeAll(t, step.after, 3)
			share := capShare(step.who, servers, step.name == "join")
			for _, count := range []int{1, 3} {
				changed, floor := moved(prefixes(base, count), prefixes(after, count), step.who.ID)
				ratio := float64(changed) / float64(floor)
				frac := float64(changed) / float64(count*propChunks)
				worst = max(worst, ratio)
				t.Logf("seed %d (%d servers, %d racks) count %d, %s %s (%s): moved %.2f%% of replicas = %.3f x floor, %.3f x capacity share, %.3f x 1/N",
					seed, len(servers), spec.racks, count, step.name, step.who.ID, step.who.Rack, 100*frac, ratio, frac/share, frac*float64(max(len(servers), len(step.after))))
				if ratio > 1.5 || count == 1 && frac > 1.5*share {
					t.Errorf("seed %d count %d %s: moved %d replicas, floor %d, share %.4f", seed, count, step.name, changed, floor, share)
				}
			}
		}
	}
	t.Logf("worst moved/floor: %.3f", worst)
}

// prefixes returns the first count servers of every replica set.
func prefixes(sets [][]string, count int) [][]string {
	out := make([][]string, len(sets))
	for i, s := range sets {
		out[i] = s[:count]
	}
	return out
}

// capShare returns who's capacity share of the cluster after joining (or
// before leaving) it.
func capShare(who Server, servers []Server, join bool) float64 {
	total := 0.0
	for _, s := range servers {
		total += float64(s.Capacity)
	}
	if join {
		total += float64(who.Capacity)
	}
	return float64(who.Capacity) / total
}

// TestRepairFansOut checks that the replicas of a failed server are
// re-created all over the cluster, not on a few neighbours.
func TestRepairFansOut(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	servers := randCluster(rng, clusterSpec{servers: 30, racks: 5})
	r, err := NewRing(servers, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	failed := with(servers, "s0", dead)
	rf, err := NewRing(failed, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]int{}
	lost := 0
	for c := range uint64(20_000) {
		ids, _ := r.Choose(Request{Chunk: c, Count: 3})
		if !slices.Contains(ids, "s0") {
			continue
		}
		lost++
		live := slices.DeleteFunc(slices.Clone(ids), func(s string) bool { return s == "s0" })
		got, err := rf.Choose(Request{Chunk: c, Count: 1, Holders: live})
		if err != nil {
			t.Fatal(err)
		}
		targets[got[0]]++
	}
	most, least := 0, lost
	for _, n := range targets {
		most, least = max(most, n), min(least, n)
	}
	// The failed server's rack peers take more (about 8% each here, against
	// 2-3% elsewhere): the failed rack is always free for the new replica,
	// while the other free racks are those that lost the original draw.
	t.Logf("%d lost replicas re-created on %d of 29 servers, busiest %.1f%%, quietest %.1f%%",
		lost, len(targets), 100*float64(most)/float64(lost), 100*float64(least)/float64(lost))
	if len(targets) < 20 || float64(most) > 0.12*float64(lost) {
		t.Errorf("repair concentrated: %v", targets)
	}
}
