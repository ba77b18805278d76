package repair

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/placement"
)

// cluster builds a planner input: n servers over racks, all alive.
func planCluster(n, racks int) *Input {
	in := &Input{
		Now: time.Unix(1000, 0), Refs: map[proto.ChunkID]int{}, GC: map[proto.ChunkID]bool{},
		Holders: map[proto.ChunkID][]proto.NodeID{}, Corrupt: map[proto.ChunkID]map[proto.NodeID]bool{},
		Addrs: map[proto.NodeID]string{}, OrphanAt: map[proto.ChunkID]time.Time{}, Inflight: NewInflight(),
		Limits: Limits{PerServer: 100, PerRound: 1000, Deletes: 1000, Timeout: time.Minute},
	}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("n%d", i)
		in.Servers = append(in.Servers, placement.Server{ID: id, Rack: fmt.Sprintf("r%d", (i-1)%racks+1), Capacity: 1 << 40})
		in.Addrs[proto.NodeID(id)] = id + ":1"
	}
	return in
}

func (in *Input) kill(id string) {
	for i := range in.Servers {
		if in.Servers[i].ID == id {
			in.Servers[i].State = placement.Dead
		}
	}
}

func copies(p Plan) map[proto.ChunkID][]proto.NodeID {
	out := map[proto.ChunkID][]proto.NodeID{}
	for srv, cmds := range p.Commands {
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
	for c := proto.ChunkID(1); c <= 20; c++ {
		in.Refs[c] = 3
		if c <= 10 {
			in.Holders[c] = []proto.NodeID{"n1", "n3", "n5"}
		} else {
			in.Holders[c] = []proto.NodeID{"n1", "n2", "n4"}
		}
	}
	in.kill("n1")
	in.kill("n2")
	in.Limits.PerRound = 10 // room for one copy per urgent chunk this round
	p := MakePlan(in)
	got := copies(p)
	for c := proto.ChunkID(11); c <= 20; c++ {
		if len(got[c]) == 0 {
			t.Errorf("chunk %d (one replica left) got no copy while slots went elsewhere: %v", c, got)
		}
	}
	for c := proto.ChunkID(1); c <= 10; c++ {
		if len(got[c]) > 0 {
			t.Errorf("chunk %d (two replicas left) was copied before the chunks with one", c)
		}
	}
	if p.Copies != 10 || p.Queued == 0 {
		t.Fatalf("copies %d queued %d: want the round capped at 10 with work left", p.Copies, p.Queued)
	}
}

func TestPlanTargetsKeepRulesAndThrottles(t *testing.T) {
	in := planCluster(6, 3)
	for c := proto.ChunkID(1); c <= 30; c++ {
		in.Refs[c] = 3
		in.Holders[c] = []proto.NodeID{"n1", "n2", "n3"} // racks r1, r2, r3
	}
	in.kill("n1")
	in.Limits.PerServer = 2
	p := MakePlan(in)
	busy := map[proto.NodeID]int{}
	for c, targets := range copies(p) {
		for _, tg := range targets {
			if slices.Contains(in.Holders[c], tg) {
				t.Fatalf("chunk %d copied to %s, which holds it", c, tg)
			}
			busy[tg]++
		}
		for _, tg := range targets {
			if in.Servers[slices.IndexFunc(in.Servers, func(s placement.Server) bool { return proto.NodeID(s.ID) == tg })].Rack != "r1" {
				t.Errorf("chunk %d lost its r1 replica but the copy went to %s on another rack", c, tg)
			}
		}
	}
	for _, op := range in.Inflight.Copies {
		for tg, cp := range op {
			busy[cp.Source]++
			_ = tg
		}
	}
	for s, n := range busy {
		if n > 2 {
			t.Errorf("server %s takes part in %d copies, limit 2", s, n)
		}
	}
	// Nothing is issued twice: a second round sees the copies in flight.
	p2 := MakePlan(in)
	for c := range copies(p2) {
		if len(in.Inflight.Copies[c]) > 1 {
			t.Errorf("chunk %d has %d copies in flight for one missing replica", c, len(in.Inflight.Copies[c]))
		}
	}
}

func TestPlanTrimsKeepingRackSpread(t *testing.T) {
	in := planCluster(6, 3)
	in.Refs[7] = 3
	// n1 came back after n4 replaced it: four replicas, two in r1.
	in.Holders[7] = []proto.NodeID{"n1", "n2", "n3", "n4"}
	p := MakePlan(in)
	var deleted []proto.NodeID
	for srv, cmds := range p.Commands {
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
	in.Refs[1], in.Refs[2] = 3, 3
	in.Holders[1] = []proto.NodeID{"n1"}                   // only on a dead server
	in.Holders[2] = []proto.NodeID{"n1", "n2", "n3", "n4"} // n4's copy is corrupt
	in.Corrupt[2] = map[proto.NodeID]bool{"n4": true}
	in.kill("n1")
	p := MakePlan(in)
	if !slices.Equal(p.Missing, []proto.ChunkID{1}) {
		t.Fatalf("missing %v, want [1]", p.Missing)
	}
	if len(copies(p)[1]) != 0 {
		t.Fatal("copy planned for a chunk with no readable replica")
	}
	// Chunk 2 has two good live replicas: first a copy, and the corrupt one
	// is deleted only once the target count of good replicas is back.
	if len(copies(p)[2]) != 1 {
		t.Fatalf("chunk 2 copies %v, want one", copies(p)[2])
	}
	for _, c := range p.Commands["n4"] {
		if c.Op == proto.CmdDelete {
			t.Fatal("corrupt replica deleted before the chunk was back to three good replicas")
		}
	}
	in.Holders[2] = []proto.NodeID{"n1", "n2", "n3", "n4", "n5"}
	in.Inflight = NewInflight()
	p = MakePlan(in)
	if cmds := p.Commands["n4"]; len(cmds) != 1 || cmds[0].Op != proto.CmdDelete {
		t.Fatalf("corrupt replica not deleted after repair: %v", p.Commands)
	}
}

func TestPlanGarbage(t *testing.T) {
	in := planCluster(3, 1)
	in.GC[5], in.GC[6] = true, true
	in.Holders[5] = []proto.NodeID{"n1", "n2"}
	in.OrphanAt[9] = in.Now.Add(-time.Second) // grace over
	in.OrphanAt[10] = in.Now.Add(time.Second) // still a writer's
	p := MakePlan(in)
	if len(p.Commands["n1"]) != 1 || len(p.Commands["n2"]) != 1 {
		t.Fatalf("deletes %v", p.Commands)
	}
	if !slices.Equal(p.GCDone, []proto.ChunkID{6}) || !slices.Equal(p.Collect, []proto.ChunkID{9}) {
		t.Fatalf("gcDone %v collect %v", p.GCDone, p.Collect)
	}
}
