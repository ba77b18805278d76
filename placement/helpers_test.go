package placement

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// clusterSpec shapes a random test cluster.
type clusterSpec struct {
	servers int
	racks   int
	// mixed draws capacities from a wide range; otherwise all are equal.
	mixed bool
	// messy adds random states, usage and load.
	messy bool
}

const unit = int64(1) << 40 // 1 TiB

// randCluster builds a cluster from spec with rng. Server IDs are "s<i>"
// and racks "r<i>"; every rack gets at least one server when possible.
func randCluster(rng *rand.Rand, spec clusterSpec) []Server {
	caps := []int64{1, 2, 3, 4, 6, 8, 12, 16}
	servers := make([]Server, spec.servers)
	for i := range servers {
		s := Server{ID: fmt.Sprintf("s%d", i), Rack: fmt.Sprintf("r%d", i%spec.racks), Capacity: 4 * unit}
		if spec.mixed {
			s.Capacity = caps[rng.IntN(len(caps))] * unit
		}
		if spec.messy {
			messUp(rng, &s)
		}
		servers[i] = s
	}
	return servers
}

// messUp gives s a random state, usage and load.
func messUp(rng *rand.Rand, s *Server) {
	switch p := rng.IntN(20); {
	case p == 0:
		s.State = Dead
	case p == 1:
		s.State = Draining
	case p == 2:
		s.State = Decommissioned
	case p == 3:
		s.Capacity = 0
	}
	s.Used = int64(rng.Float64() * 1.05 * float64(s.Capacity))
	s.Load = rng.Float64()
}

// shuffled returns a shuffled copy of xs.
func shuffled[T any](rng *rand.Rand, xs []T) []T {
	c := slices.Clone(xs)
	rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
	return c
}

// specEligible is the placement eligibility rule, written from the package
// doc rather than from the code it checks.
func specEligible(s Server, size int64, opt Options) (ok, byState bool) {
	if s.State != Alive {
		return false, false
	}
	if s.Capacity <= 0 {
		return false, true
	}
	limit := opt.FullThreshold * float64(s.Capacity)
	room := limit - float64(s.Used) - float64(size)
	// Allow float slack either way: the rule is about bytes, this check
	// about float rounding.
	if math.Abs(room) <= 2+1e-9*float64(s.Capacity) {
		return true, true // boundary: either answer is acceptable
	}
	return room > 0, true
}

// checkPlacement verifies every constraint of a Choose result, or that an
// error was justified. It returns a description of the first violation.
func checkPlacement(servers []Server, req Request, opt Options, got []string, err error) error {
	byID := map[string]Server{}
	for _, s := range servers {
		byID[s.ID] = s
	}
	banned := map[string]bool{}
	occ := map[string]int{}
	for _, id := range req.Holders {
		if s, ok := byID[id]; ok && !banned[id] && s.State == Alive {
			occ[s.Rack]++
		}
		banned[id] = true
	}
	for _, id := range req.Exclude {
		banned[id] = true
	}
	eligible, byState := map[string]bool{}, 0
	for _, s := range servers {
		ok, st := specEligible(s, req.Size, opt)
		if banned[s.ID] {
			continue
		}
		if ok {
			eligible[s.ID] = true
		}
		if st {
			byState++
		}
	}
	if err != nil {
		return checkError(req, len(eligible), byState, err)
	}
	return checkChoice(byID, req, eligible, occ, got)
}

func checkError(req Request, eligible, byState int, err error) error {
	if bad := req.Count < 1 || req.Size < 0; bad != errors.Is(err, ErrInvalidRequest) {
		return fmt.Errorf("request %+v: error %v", req, err)
	}
	switch {
	case errors.Is(err, ErrInvalidRequest):
	case errors.Is(err, ErrNotEnoughServers):
		if byState >= req.Count {
			return fmt.Errorf("ErrNotEnoughServers but %d servers alive and allowed: %v", byState, err)
		}
	case errors.Is(err, ErrNoSpace):
		if eligible >= req.Count+1 || byState < req.Count {
			return fmt.Errorf("ErrNoSpace with %d eligible, %d alive: %v", eligible, byState, err)
		}
	default:
		return fmt.Errorf("unexpected error class: %v", err)
	}
	return nil
}

func checkChoice(byID map[string]Server, req Request, eligible map[string]bool, occ map[string]int, got []string) error {
	if len(got) != req.Count {
		return fmt.Errorf("got %d servers %v, want %d", len(got), got, req.Count)
	}
	seen := map[string]bool{}
	added := map[string]int{}
	for _, id := range got {
		if seen[id] {
			return fmt.Errorf("server %s chosen twice in %v", id, got)
		}
		seen[id] = true
		if !eligible[id] {
			return fmt.Errorf("server %s (%+v) is not eligible", id, byID[id])
		}
		occ[byID[id].Rack]++
		added[byID[id].Rack]++
	}
	spare := map[string]bool{} // racks with an eligible server left unchosen
	for id := range eligible {
		if !seen[id] {
			spare[byID[id].Rack] = true
		}
	}
	// Water-filling optimality: no rack got a replica while another rack
	// with room ended up with fewer than that rack had before it.
	for x := range added {
		for y := range spare {
			if occ[x]-1 > occ[y] {
				return fmt.Errorf("rack %s got a replica (now %d) while rack %s (now %d) had room; choice %v", x, occ[x], y, occ[y], got)
			}
		}
	}
	return nil
}

// refChoose is a slow, obviously correct version of Ring.Choose: sort every
// eligible server by key, then take them level by level.
func refChoose(servers []Server, req Request, opt Options) []string {
	sorted := slices.Clone(servers)
	slices.SortFunc(sorted, func(a, b Server) int { return strings.Compare(a.ID, b.ID) })
	type cand struct {
		key float64
		idx int
	}
	var cs []cand
	ch := chunkHash(req.Chunk, saltPlace)
	occ := map[string]int{}
	for i, s := range sorted {
		if slices.Contains(req.Holders, s.ID) {
			if s.State == Alive {
				occ[s.Rack]++
			}
			continue
		}
		ok, _ := specEligible(s, req.Size, opt)
		if !ok || slices.Contains(req.Exclude, s.ID) {
			continue
		}
		w := float64(s.Capacity) * (1 - float64(opt.LoadBias*s.load()))
		cs = append(cs, cand{raceKey(pairHash(ch, hashString(s.ID)), 1/w), i})
	}
	slices.SortFunc(cs, func(a, b cand) int {
		if a.key != b.key {
			return cmpFloat(a.key, b.key)
		}
		return a.idx - b.idx
	})
	var out []string
	taken := make([]bool, len(cs))
	for level := 1; len(out) < req.Count && level <= len(servers)+len(req.Holders)+1; level++ {
		for j, c := range cs {
			s := sorted[c.idx]
			if !taken[j] && occ[s.Rack] < level && len(out) < req.Count {
				taken[j] = true
				occ[s.Rack]++
				out = append(out, s.ID)
			}
		}
	}
	return out
}

func cmpFloat(a, b float64) int {
	if a < b {
		return -1
	}
	return 1
}
