package repair

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/placement"
)

// stripe adds a stripe from "stripe S rs-K-M on IDS [size B] [corrupt IDS]".
func (sc *scenario) stripe(f []string) {
	id := proto.ChunkID(sc.atoi(f[1]))
	var k, m int
	if _, err := fmt.Sscanf(f[2], "rs-%d-%d", &k, &m); err != nil {
		sc.fatalf("policy %q: %v", f[2], err)
	}
	on := strings.Split(arg(f, "on"), ",")
	if len(on) != k+m {
		sc.fatalf("stripe s%d: %d holders for rs-%d-%d", id, len(on), k, m)
	}
	s := Stripe{K: k, M: m}
	if v := arg(f, "size"); v != "" {
		s.Size = int64(sc.atoi(v))
	}
	bad := sc.list(arg(f, "corrupt"))
	for i, h := range on {
		c := id*100 + proto.ChunkID(i)
		s.Shards = append(s.Shards, c)
		sc.holders[c] = sc.list(h)
		delete(sc.corrupt, c)
		if slices.Contains(bad, proto.NodeID(h)) {
			sc.corrupt[c] = map[proto.NodeID]bool{proto.NodeID(h): true}
		}
	}
	sc.stripes[id] = s
}

// describeStripes prints the rebuilds of a plan, the missing stripes and
// the stripe totals.
func describeStripes(p Plan) []string {
	var out []string
	for _, r := range p.Reconstructs {
		var from []string
		for _, src := range r.Sources {
			from = append(from, fmt.Sprintf("%d:%s", src.Shard, src.Server))
		}
		out = append(out, fmt.Sprintf("reconstruct s%d.%d (c%d) on %s from %s", r.Stripe, r.Shard, r.Chunk, r.Target, strings.Join(from, " ")))
	}
	if len(p.MissingStripes) > 0 {
		var ids []string
		for _, id := range p.MissingStripes {
			ids = append(ids, "s"+strconv.FormatUint(uint64(id), 10))
		}
		out = append(out, "missing stripes "+strings.Join(ids, ","))
	}
	return append(out, fmt.Sprintf("reconstructs %d stripes queued %d", len(p.Reconstructs), p.QueuedStripes))
}

// checkStripeRules checks a plan against the one-shard-per-server rule:
// after every copy and rebuild issued (and in flight) lands, no server
// holds two shards of a stripe as their counted holder, and no target
// already holds a shard of the stripe.
func checkStripeRules(in *Input, p Plan) error {
	targets := map[proto.ChunkID][]proto.NodeID{} // chunk -> new holders
	for srv, cmds := range p.Commands {
		for _, c := range cmds {
			if c.Op == "copy" {
				targets[c.Chunk] = append(targets[c.Chunk], srv)
			}
		}
	}
	for _, r := range p.Reconstructs {
		targets[r.Chunk] = append(targets[r.Chunk], r.Target)
		if len(r.Sources) != r.K {
			return fmt.Errorf("rebuild of s%d.%d reads %d sources, want %d", r.Stripe, r.Shard, len(r.Sources), r.K)
		}
		for _, src := range r.Sources {
			if src.Shard == r.Shard || !slices.Contains(in.Holders[src.Chunk], src.Server) {
				return fmt.Errorf("rebuild of s%d.%d reads shard %d from %s, which does not hold it", r.Stripe, r.Shard, src.Shard, src.Server)
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(in.Stripes)) {
		s := in.Stripes[id]
		held := map[proto.NodeID]int{}
		for _, c := range s.Shards {
			for _, h := range in.Holders[c] {
				held[h]++
			}
		}
		for _, c := range s.Shards {
			for _, t := range targets[c] {
				if held[t] > 0 {
					return fmt.Errorf("stripe s%d: shard chunk c%d sent to %s, which holds a shard", id, c, t)
				}
				held[t]++
			}
		}
	}
	return nil
}

// TestStripeRepairConverges destroys shards of random stripes on random
// clusters and runs planning rounds, applying every command, until every
// stripe that kept K readable shards is full again; the rules hold in
// every round.
func TestStripeRepairConverges(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	var rebuilds, moves, missing, drains int
	for trial := range 60 {
		in := planCluster(6+rng.IntN(8), 1+rng.IntN(5))
		in.Stripes = map[proto.ChunkID]Stripe{}
		in.Limits.PerServer = 1 + rng.IntN(3)
		in.Limits.PerRound = 1 + rng.IntN(10)
		k, m := []int{2, 4, 6, 3}[trial%4], 1+rng.IntN(3)
		if k+m > len(in.Servers) {
			k = len(in.Servers) - m
		}
		lost := map[proto.ChunkID]bool{}
		for id := proto.ChunkID(1); id <= 8; id++ {
			got, err := placement.ChooseStripe(in.Servers, placement.StripeRequest{Stripe: uint64(id), K: k, M: m}, placement.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			s := Stripe{K: k, M: m}
			destroy := rng.IntN(m + 2) // sometimes more than M

			for i, srv := range got {
				c := id*100 + proto.ChunkID(i)
				s.Shards = append(s.Shards, c)
				in.Holders[c] = []proto.NodeID{proto.NodeID(srv)}
				if i < destroy {
					if rng.IntN(2) == 0 {
						delete(in.Holders, c)
					} else {
						in.Corrupt[c] = map[proto.NodeID]bool{proto.NodeID(srv): true}
					}
				}
			}
			in.Stripes[id] = s
		}
		drained := ""
		if n := len(in.Servers); n >= k+m+2 {
			perm := rng.Perm(n)
			drained = in.Servers[perm[0]].ID
			in.Servers[perm[0]].State = placement.Draining
			in.kill(in.Servers[perm[1]].ID)
		}
		states := States(in.Servers)
		for id, st := range in.Stripes { // what the dead server took is gone
			lost[id] = ClassifyStripe(st, in.Holders, states, in.Corrupt).Condition(st) == StripeMissing
		}
		var p Plan
		for round := 0; ; round++ {
			in.Inflight.Expire(in)
			p = MakePlan(in)
			if err := checkStripeRules(in, p); err != nil {
				t.Fatalf("trial %d round %d: %v", trial, round, err)
			}
			if p.work() == 0 && p.Deletes == 0 {
				break
			}
			if round > 200 {
				t.Fatalf("trial %d: no convergence after %d rounds: %+v", trial, round, p)
			}
			rebuilds += len(p.Reconstructs)
			moves += p.Copies
			applyPlan(in, p)
			in.Now = in.Now.Add(time.Second)
		}
		for _, id := range slices.Sorted(maps.Keys(in.Stripes)) {
			st := in.Stripes[id]
			v := ClassifyStripe(st, in.Holders, states, in.Corrupt)
			want := StripeFull
			if lost[id] {
				want = StripeMissing
			}
			if v.Condition(st) != want || (want == StripeFull && v.Corrupt+len(slices.Concat(v.Bad...))+len(slices.Concat(v.Extra...)) > 0) {
				t.Fatalf("trial %d: stripe s%d after repair: %v %+v, want %v and clean", trial, id, v.Condition(st), v, want)
			}
		}
		for _, l := range lost {
			if l {
				missing++
			}
		}
		if drained != "" {
			drains++
		}
		if drained != "" && !slices.ContainsFunc(slices.Collect(maps.Values(lost)), func(l bool) bool { return l }) && !Drained(in, proto.NodeID(drained)) {
			t.Fatalf("trial %d: %s not drained after repair", trial, drained)
		}
	}
	t.Logf("%d rebuilds, %d moves, %d stripes missing, %d trials with a draining and a dead server", rebuilds, moves, missing, drains)
	if rebuilds < 100 || moves < 10 || missing < 5 || drains < 10 {
		t.Errorf("the trials exercise too little")
	}
}

// applyPlan carries out a plan as the chunk servers would: copies and
// rebuilds land, deletions happen.
func applyPlan(in *Input, p Plan) {
	for srv, cmds := range p.Commands {
		for _, c := range cmds {
			switch c.Op {
			case "copy":
				in.Holders[c.Chunk] = append(in.Holders[c.Chunk], srv)
			case "delete":
				in.Holders[c.Chunk] = slices.DeleteFunc(in.Holders[c.Chunk], func(h proto.NodeID) bool { return h == srv })
				delete(in.Corrupt[c.Chunk], srv)
			}
		}
	}
	for _, r := range p.Reconstructs {
		in.Holders[r.Chunk] = append(in.Holders[r.Chunk], r.Target)
	}
	for c := range in.Holders {
		slices.Sort(in.Holders[c])
	}
}
