package placement

import (
	"cmp"
	"slices"
)

// next finds, applies and returns the next move, or reports that there is
// none.
func (b *balancer) next() (Move, bool) {
	srcs, targets := b.rank()
	if len(srcs) == 0 || len(targets) == 0 {
		return Move{}, false
	}
	for _, s := range srcs {
		for _, c := range b.on[s] {
			if d := b.target(s, c, targets); d >= 0 {
				return b.apply(s, d, c), true
			}
		}
		b.stuck[s] = true
	}
	return Move{}, false
}

// rank returns the members above the mean, most over-used first, and, per
// rack, all members, least used first. Both are empty when every member is
// within the band.
func (b *balancer) rank() (srcs []int, targets [][]int) {
	var all []int
	out := false
	for i := range b.r.nodes {
		if !b.member[i] {
			continue
		}
		all = append(all, i)
		if b.ratio(i) > b.mean && !b.stuck[i] {
			srcs = append(srcs, i)
		}
		out = out || b.outside(i)
	}
	if !out {
		return nil, nil
	}
	byRatio := func(x, y int) int {
		if c := cmp.Compare(b.ratio(x), b.ratio(y)); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	}
	slices.SortFunc(srcs, func(x, y int) int { return byRatio(y, x) })
	slices.SortFunc(all, byRatio)
	targets = make([][]int, len(b.r.racks))
	for _, i := range all {
		k := b.r.nodes[i].rack
		targets[k] = append(targets[k], i)
	}
	return srcs, targets
}

func (b *balancer) outside(i int) bool {
	q := b.ratio(i)
	return q > b.hi || q < b.lo
}

// target returns the least used server that may take chunk c from s, or
// -1. Servers at least as full as s never qualify.
func (b *balancer) target(s, c int, targets [][]int) int {
	ch := &b.chunks[c]
	if ch.moved {
		return -1
	}
	best := -1
	for k, list := range targets {
		if !b.keepsSpread(ch, s, k) {
			continue
		}
		for _, d := range list {
			if b.ratio(d) >= b.ratio(s) {
				break
			}
			if b.allowed(s, d, ch) {
				if best < 0 || b.ratio(d) < b.ratio(best) {
					best = d // ties keep the lower rack, then the lower index
				}
				break // later ones in this rack are fuller
			}
		}
	}
	return best
}

// keepsSpread reports whether moving ch from s to a server in rack k keeps
// the number of distinct racks among its holders (its group's, for a
// group member).
func (b *balancer) keepsSpread(ch *bchunk, s, k int) bool {
	var before, after []int
	unknown := 0
	for _, c := range b.members(ch) {
		for _, h := range c.holders {
			rk := 0
			if h >= 0 {
				rk = b.r.nodes[h].rack
			} else {
				unknown++
				rk = -unknown // an unknown holder is a rack of its own
			}
			before = appendUnique(before, rk)
			if c != ch || h != s {
				after = appendUnique(after, rk)
			}
		}
	}
	after = appendUnique(after, k)
	return len(after) >= len(before)
}

func appendUnique(xs []int, x int) []int {
	if slices.Contains(xs, x) {
		return xs
	}
	return append(xs, x)
}

// allowed checks every rule of a move of ch from s to d except rack spread.
func (b *balancer) allowed(s, d int, ch *bchunk) bool {
	if !(b.outside(s) || b.outside(d)) {
		return false
	}
	for _, c := range b.members(ch) {
		if slices.Contains(c.holders, d) {
			return false
		}
	}
	nd, ns := &b.r.nodes[d], &b.r.nodes[s]
	if ch.size > nd.limit-b.used[d] {
		return false
	}
	cd, cs := float64(nd.Capacity), float64(ns.Capacity)
	ud, us, sz := float64(b.used[d]), float64(b.used[s]), float64(ch.size)
	dAfter, sAfter := (ud+sz)/cd, (us-sz)/cs
	if dAfter > max(b.hi, sAfter) || sAfter < min(b.lo, dAfter) {
		return false // would overshoot: past the band and past the other side
	}
	return (float64(2*ud)+sz)/cd < (float64(2*us)-sz)/cs // variance strictly drops
}

// apply records the move of chunk c from s to d in the simulation.
func (b *balancer) apply(s, d, c int) Move {
	ch := &b.chunks[c]
	ch.moved = true
	ch.holders[slices.Index(ch.holders, s)] = d
	b.used[s] -= ch.size
	b.used[d] += ch.size
	return Move{Chunk: ch.id, From: b.r.nodes[s].ID, To: b.r.nodes[d].ID}
}
