package repair

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/placement"
)

// tallyOf counts exactly what Classify lists, for every mix of server
// states and corrupt marks (random, seeded).
func TestTallyMatchesClassify(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 1))
	all := []placement.State{placement.Alive, placement.Draining, placement.Dead, placement.Decommissioned}
	for i := range 2000 {
		states := map[proto.NodeID]placement.State{}
		corrupt := map[proto.NodeID]bool{}
		var holders []proto.NodeID
		for j := range rng.IntN(6) {
			h := proto.NodeID(fmt.Sprintf("n%d", j))
			holders = append(holders, h)
			if rng.IntN(6) > 0 { // else: a holder of unknown state
				states[h] = all[rng.IntN(len(all))]
			}
			corrupt[h] = rng.IntN(3) == 0
		}
		v, got := Classify(holders, states, corrupt), tallyOf(holders, states, corrupt)
		want := tally{counting: len(v.Counting), sources: len(v.Sources), bad: len(v.Bad)}
		target := rng.IntN(4)
		if got != want || got.condition(target) != ConditionOf(v, target) {
			t.Fatalf("case %d: %v %v %v: tally %+v, Classify %+v", i, holders, states, corrupt, got, want)
		}
	}
}

// BenchmarkMakePlanHealthy: a round over 20,000 healthy chunks (the bulk
// of every round) allocates nothing per chunk.
func BenchmarkMakePlanHealthy(b *testing.B) {
	in := planCluster(4, 2)
	for c := proto.ChunkID(1); c <= 20000; c++ {
		in.Refs[c], in.Holders[c] = 3, []proto.NodeID{"n1", "n2", "n3"}
	}
	b.ReportAllocs()
	for b.Loop() {
		MakePlan(in)
	}
}
