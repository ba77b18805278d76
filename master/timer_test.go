package master

import (
	"github.com/granary-store/granary/internal/proto"
	"testing"
	"testing/synctest"
	"time"

	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/repair"
)

// TestSilenceToRepairPlan runs the chain heartbeat silence -> dead ->
// repair plan on synctest's fake clock: a 30-second dead-after passes
// instantly and exactly.
func TestSilenceToRepairPlan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const deadAfter = 30 * time.Second
		var live liveness
		nodes := []meta.Node{
			{ID: "n1", Rack: "r1", State: meta.NodeActive}, {ID: "n2", Rack: "r2", State: meta.NodeActive},
			{ID: "n3", Rack: "r1", State: meta.NodeActive}, {ID: "n4", Rack: "r2", State: meta.NodeActive},
		}
		beat := func(ids ...proto.NodeID) {
			for _, id := range ids {
				live.seen(id, time.Now(), nil)
			}
		}
		beat("n1", "n2", "n3", "n4")
		plan := func() repair.Plan {
			in := &repair.Input{
				Now: time.Now(), Refs: map[proto.ChunkID]int{1: 3}, Holders: map[proto.ChunkID][]proto.NodeID{1: {"n1", "n2", "n3"}},
				Inflight: repair.NewInflight(), Limits: repair.Limits{PerServer: 100, PerRound: 1000, Deletes: 1000, Timeout: time.Minute},
			}
			for _, n := range nodes {
				sv := live.view(n, in.Now, deadAfter).placement()
				sv.Capacity = 1 << 30
				in.Servers = append(in.Servers, sv)
			}
			return repair.MakePlan(in)
		}
		// n3 falls silent; the others keep heartbeating every 3 s.
		for range 9 {
			time.Sleep(3 * time.Second)
			beat("n1", "n2", "n4")
		}
		if p := plan(); p.Copies != 0 {
			t.Fatalf("repair planned after 27 s of silence (dead-after 30 s): %v", p.Commands)
		}
		time.Sleep(3*time.Second + time.Millisecond)
		beat("n1", "n2", "n4")
		p := plan()
		if cmds := p.Commands["n4"]; len(cmds) != 1 || cmds[0].Chunk != 1 {
			t.Fatalf("after 30 s of silence: plan %v, want a copy of chunk 1 to n4", p.Commands)
		}
	})
}
