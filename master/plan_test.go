package master

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/placement"
)

// cluster builds a planner input: n servers over racks, all alive.
func planCluster(n, racks int) *planInput {
	in := &planInput{
		now: time.Unix(1000, 0), refs: map[uint64]int{}, gc: map[uint64]bool{},
		holders: map[uint64][]string{}, corrupt: map[uint64]map[string]bool{},
		addrs: map[string]string{}, orphanAt: map[uint64]time.Time{}, inflight: newInflight(),
		limits: repairLimits{perServer: 100, perRound: 1000, deletes: 1000, timeout: time.Minute},
	}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("n%d", i)
		in.servers = append(in.servers, placement.Server{ID: id, Rack: fmt.Sprintf("r%d", (i-1)%racks+1), Capacity: 1 << 40})
		in.addrs[id] = id + ":1"
	}
	return in
}

func (in *planInput) kill(id string) {
	for i := range in.servers {
		if in.servers[i].ID == id {
			in.servers[i].State = placement.Dead
		}
	}
}

func copies(p plan) map[uint64][]string {
	out := map[uint64][]string{}
	for srv, cmds := range p.commands {
		for _, c := range cmds {
			if c.Op == proto.CmdCopy {
				out[c.Chunk] = append(out[c.Chunk], srv)
			}
		}
	}
	return out
}

func TestPlanRepairsMostUrgentFirst(t *testing.T) {
	in := planCluster(6, 3)
	// Chunks 1-10 lost one replica, chunks 11-20 lost two (n1 and n2 die).
	for c := uint64(1); c <= 20; c++ {
		in.refs[c] = 3
		if c <= 10 {
			in.holders[c] = []string{"n1", "n3", "n5"}
		} else {
			in.holders[c] = []string{"n1", "n2", "n4"}
		}
	}
	in.kill("n1")
	in.kill("n2")
	in.limits.perRound = 10 // room for one copy per urgent chunk this round
	p := makePlan(in)
	got := copies(p)
	for c := uint64(11); c <= 20; c++ {
		if len(got[c]) == 0 {
			t.Errorf("chunk %d (one replica left) got no copy while slots went elsewhere: %v", c, got)
		}
	}
	for c := uint64(1); c <= 10; c++ {
		if len(got[c]) > 0 {
			t.Errorf("chunk %d (two replicas left) was copied before the chunks with one", c)
		}
	}
	if p.copies != 10 || p.queued == 0 {
		t.Fatalf("copies %d queued %d: want the round capped at 10 with work left", p.copies, p.queued)
	}
}

func TestPlanTargetsKeepRulesAndThrottles(t *testing.T) {
	in := planCluster(6, 3)
	for c := uint64(1); c <= 30; c++ {
		in.refs[c] = 3
		in.holders[c] = []string{"n1", "n2", "n3"} // racks r1, r2, r3
	}
	in.kill("n1")
	in.limits.perServer = 2
	p := makePlan(in)
	busy := map[string]int{}
	for c, targets := range copies(p) {
		for _, tg := range targets {
			if slices.Contains(in.holders[c], tg) {
				t.Fatalf("chunk %d copied to %s, which holds it", c, tg)
			}
			busy[tg]++
		}
		for _, tg := range targets {
			if in.servers[slices.IndexFunc(in.servers, func(s placement.Server) bool { return s.ID == tg })].Rack != "r1" {
				t.Errorf("chunk %d lost its r1 replica but the copy went to %s on another rack", c, tg)
			}
		}
	}
	for _, op := range in.inflight.copies {
		for tg, cp := range op {
			busy[cp.source]++
			_ = tg
		}
	}
	for s, n := range busy {
		if n > 2 {
			t.Errorf("server %s takes part in %d copies, limit 2", s, n)
		}
	}
	// Nothing is issued twice: a second round sees the copies in flight.
	p2 := makePlan(in)
	for c := range copies(p2) {
		if len(in.inflight.copies[c]) > 1 {
			t.Errorf("chunk %d has %d copies in flight for one missing replica", c, len(in.inflight.copies[c]))
		}
	}
}

func TestPlanTrimsKeepingRackSpread(t *testing.T) {
	in := planCluster(6, 3)
	in.refs[7] = 3
	// n1 came back after n4 replaced it: four replicas, two in r1.
	in.holders[7] = []string{"n1", "n2", "n3", "n4"}
	p := makePlan(in)
	var deleted []string
	for srv, cmds := range p.commands {
		for _, c := range cmds {
			if c.Op == proto.CmdDelete {
				deleted = append(deleted, srv)
			}
		}
	}
	if len(deleted) != 1 || (deleted[0] != "n1" && deleted[0] != "n4") {
		t.Fatalf("trimmed %v; want one of the two r1 replicas", deleted)
	}
}

func TestPlanMissingAndCorrupt(t *testing.T) {
	in := planCluster(5, 2)
	in.refs[1], in.refs[2] = 3, 3
	in.holders[1] = []string{"n1"}                   // only on a dead server
	in.holders[2] = []string{"n1", "n2", "n3", "n4"} // n4's copy is corrupt
	in.corrupt[2] = map[string]bool{"n4": true}
	in.kill("n1")
	p := makePlan(in)
	if !slices.Equal(p.missing, []uint64{1}) {
		t.Fatalf("missing %v, want [1]", p.missing)
	}
	if len(copies(p)[1]) != 0 {
		t.Fatal("copy planned for a chunk with no readable replica")
	}
	// Chunk 2 has two good live replicas: first a copy, and the corrupt one
	// is deleted only once the target count of good replicas is back.
	if len(copies(p)[2]) != 1 {
		t.Fatalf("chunk 2 copies %v, want one", copies(p)[2])
	}
	for _, c := range p.commands["n4"] {
		if c.Op == proto.CmdDelete {
			t.Fatal("corrupt replica deleted before the chunk was back to three good replicas")
		}
	}
	in.holders[2] = []string{"n1", "n2", "n3", "n4", "n5"}
	in.inflight = newInflight()
	p = makePlan(in)
	if cmds := p.commands["n4"]; len(cmds) != 1 || cmds[0].Op != proto.CmdDelete {
		t.Fatalf("corrupt replica not deleted after repair: %v", p.commands)
	}
}

func TestPlanGarbage(t *testing.T) {
	in := planCluster(3, 1)
	in.gc[5], in.gc[6] = true, true
	in.holders[5] = []string{"n1", "n2"}
	in.orphanAt[9] = in.now.Add(-time.Second) // grace over
	in.orphanAt[10] = in.now.Add(time.Second) // still a writer's
	p := makePlan(in)
	if len(p.commands["n1"]) != 1 || len(p.commands["n2"]) != 1 {
		t.Fatalf("deletes %v", p.commands)
	}
	if !slices.Equal(p.gcDone, []uint64{6}) || !slices.Equal(p.collect, []uint64{9}) {
		t.Fatalf("gcDone %v collect %v", p.gcDone, p.collect)
	}
}
