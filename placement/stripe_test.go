package placement

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// stripeAsRequest is the Choose request a stripe must satisfy the rules of.
func stripeAsRequest(req StripeRequest) Request {
	return Request{Chunk: req.Stripe, Count: req.K + req.M, Size: req.ShardSize, Exclude: req.Exclude}
}

func shardsAsRequest(req ShardRequest) Request {
	return Request{Chunk: req.Stripe, Count: req.Count, Size: req.ShardSize, Holders: req.Holders, Exclude: req.Exclude}
}

// rackBound is the least possible size of the fullest rack when count
// distinct servers are drawn from the eligible ones (no holders): the
// smallest L with sum over racks of min(eligible in rack, L) >= count.
func rackBound(servers []Server, req Request, opt Options) int {
	perRack := map[string]int{}
	for _, s := range servers {
		if ok, _ := specEligible(s, req.Size, opt); ok && !slices.Contains(req.Exclude, s.ID) {
			perRack[s.Rack]++
		}
	}
	for l := 1; ; l++ {
		sum := 0
		for _, n := range perRack {
			sum += min(n, l)
		}
		if sum >= req.Count || l > len(servers) {
			return l
		}
	}
}

// checkStripe checks a ChooseStripe answer: Choose's rules (distinct,
// eligible, water-filled), the rack bound, and the error message.
func checkStripe(servers []Server, req StripeRequest, opt Options, got []string, err error) error {
	q := stripeAsRequest(req)
	if cerr := checkPlacement(servers, q, opt, got, err); cerr != nil {
		return cerr
	}
	if err != nil {
		if !strings.Contains(err.Error(), fmt.Sprintf("need %d distinct servers", req.K+req.M)) {
			return fmt.Errorf("error does not say how many servers are needed: %v", err)
		}
		return nil
	}
	rackOf := map[string]string{}
	for _, s := range servers {
		rackOf[s.ID] = s.Rack
	}
	perRack := map[string]int{}
	most := 0
	for _, id := range got {
		perRack[rackOf[id]]++
		most = max(most, perRack[rackOf[id]])
	}
	if bound := rackBound(servers, q, opt); most > bound {
		return fmt.Errorf("a rack holds %d shards of %v, the topology allows %d", most, got, bound)
	}
	return nil
}

func (sc *scenario) stripe(a args) []string {
	var out []string
	for _, c := range sc.chunkRange(a[0]) {
		req := StripeRequest{Stripe: c, K: int(sc.num(a[1])), M: int(sc.num(a[2])),
			ShardSize: sc.num(a.opt("size", "0")) * gib, Exclude: ids(a.opt("exclude", ""))}
		got, err := ChooseStripe(sc.servers, req, sc.opt)
		if cerr := checkStripe(sc.servers, req, sc.opt, got, err); cerr != nil {
			sc.fatalf("rule broken: %v", cerr)
		}
		if err != nil {
			out = append(out, fmt.Sprintf("c%d: error: %v", c, err))
			continue
		}
		out = append(out, fmt.Sprintf("c%d: %s  racks %s", c, strings.Join(got, " "), sc.rackCounts(got)))
	}
	return out
}

func (sc *scenario) shards(a args) []string {
	var out []string
	for _, c := range sc.chunkRange(a[0]) {
		req := ShardRequest{Stripe: c, Count: int(sc.num(a[1])), Holders: ids(a.opt("holders", "")),
			ShardSize: sc.num(a.opt("size", "0")) * gib, Exclude: ids(a.opt("exclude", ""))}
		got, err := ChooseShards(sc.servers, req, sc.opt)
		if cerr := checkPlacement(sc.servers, shardsAsRequest(req), sc.opt, got, err); cerr != nil {
			sc.fatalf("rule broken: %v", cerr)
		}
		if err != nil {
			out = append(out, fmt.Sprintf("c%d: error: %v", c, err))
			continue
		}
		out = append(out, fmt.Sprintf("c%d: %s", c, strings.Join(got, " ")))
	}
	return out
}

// rackCounts renders shards per rack, "r1=2 r2=2 r3=2", in rack order.
func (sc *scenario) rackCounts(got []string) string {
	perRack := map[string]int{}
	for _, id := range got {
		perRack[sc.find(id).Rack]++
	}
	var parts []string
	for _, rack := range slices.Sorted(func(yield func(string) bool) {
		for r := range perRack {
			if !yield(r) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%s=%d", rack, perRack[rack]))
	}
	return strings.Join(parts, " ")
}

// TestStripeRules checks ChooseStripe and ChooseShards on random messy
// clusters: distinct eligible servers, the rack bound, water-filling,
// justified errors, and the same answer for shuffled input.
func TestStripeRules(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 7))
	opt := DefaultOptions()
	placed, failed := 0, 0
	for range 3000 {
		spec := clusterSpec{servers: 1 + rng.IntN(20), racks: 1 + rng.IntN(6), mixed: rng.IntN(2) == 0, messy: rng.IntN(2) == 0}
		servers := randCluster(rng, spec)
		req := StripeRequest{Stripe: rng.Uint64(), K: 1 + rng.IntN(8), M: 1 + rng.IntN(4), ShardSize: rng.Int64N(4) * unit / 64}
		if rng.IntN(4) == 0 {
			req.Exclude = []string{servers[rng.IntN(len(servers))].ID}
		}
		got, err := ChooseStripe(servers, req, opt)
		if cerr := checkStripe(servers, req, opt, got, err); cerr != nil {
			t.Fatalf("%d servers, %d racks, %+v: %v", spec.servers, spec.racks, req, cerr)
		}
		again, err2 := ChooseStripe(shuffled(rng, servers), req, opt)
		if !slices.Equal(got, again) || (err == nil) != (err2 == nil) {
			t.Fatalf("shuffled input: %v, %v; first %v, %v", again, err2, got, err)
		}
		if err != nil {
			failed++
			continue
		}
		placed++
		// Lose 1..M shards (their servers die), then find new homes.
		lost := 1 + rng.IntN(req.M)
		for _, i := range rng.Perm(len(got))[:lost] {
			servers[slices.IndexFunc(servers, func(s Server) bool { return s.ID == got[i] })].State = Dead
		}
		sreq := ShardRequest{Stripe: req.Stripe, Count: lost, Holders: got, ShardSize: req.ShardSize}
		homes, err := ChooseShards(servers, sreq, opt)
		if cerr := checkPlacement(servers, shardsAsRequest(sreq), opt, homes, err); cerr != nil {
			t.Fatalf("repair of %v losing %d: %v", got, lost, cerr)
		}
		for _, h := range homes {
			if slices.Contains(got, h) {
				t.Fatalf("repair put a shard on %s, which holds one of %v", h, got)
			}
		}
	}
	t.Logf("%d stripes placed, %d refused", placed, failed)
	if placed < 1000 || failed < 100 {
		t.Errorf("the random clusters exercise too little: %d placed, %d refused", placed, failed)
	}
}

func TestStripeErrors(t *testing.T) {
	servers := []Server{{ID: "a", Rack: "r1", Capacity: unit}, {ID: "b", Rack: "r2", Capacity: unit},
		{ID: "c", Rack: "r3", Capacity: unit, State: Dead}, {ID: "d", Rack: "r1", Capacity: unit, Used: unit}}
	_, err := ChooseStripe(servers, StripeRequest{Stripe: 9, K: 4, M: 2}, DefaultOptions())
	want := "placement: choose stripe 9 (rs-4-2): need 6 distinct servers, 2 eligible (1 dead, 1 full): not enough eligible servers"
	if !errors.Is(err, ErrNotEnoughServers) || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if _, err := ChooseStripe(servers, StripeRequest{Stripe: 9, K: 2, M: 0}, DefaultOptions()); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("rs-2-0: %v", err)
	}
	if _, err := ChooseShards(servers, ShardRequest{Stripe: 9, Holders: []string{"a"}}, DefaultOptions()); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("count 0: %v", err)
	}
	_, err = ChooseShards(servers, ShardRequest{Stripe: 9, Count: 1, Holders: []string{"a", "b"}}, DefaultOptions())
	if !errors.Is(err, ErrNoSpace) {
		t.Errorf("only a full server left: %v", err)
	}
}
