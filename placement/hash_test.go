package placement

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestNegLogAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	worst := 0.0
	check := func(k uint64) {
		u := (float64(k) + 0.5) / (1 << 52)
		want := -math.Log(u)
		got := negLog(k)
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
		if !(got > 0) || math.IsInf(got, 0) {
			t.Fatalf("negLog(%d) = %v", k, got)
		}
	}
	for _, k := range []uint64{0, 1, 2, 1 << 20, 1<<51 - 1, 1 << 51, 1<<52 - 2, 1<<52 - 1} {
		check(k)
	}
	for range 200_000 {
		check(rng.Uint64() >> 12)
		check(rng.Uint64() >> (12 + rng.IntN(52)))
	}
	t.Logf("worst relative error vs math.Log: %.2g", worst)
	if worst > 1e-13 {
		t.Errorf("negLog relative error %g", worst)
	}
}

// TestHashStable pins the hash functions: they decide where every chunk
// goes, so a change here re-places a whole cluster and must be deliberate.
func TestHashStable(t *testing.T) {
	if got := hashString("n1"); got != hashStringWant {
		t.Errorf("hashString(n1) = %#x, want %#x", got, uint64(hashStringWant))
	}
	if got := math.Float64bits(raceKey(pairHash(chunkHash(42, saltPlace), hashString("n1")), 1)); got != raceKeyWant {
		t.Errorf("raceKey bits = %#x, want %#x", got, uint64(raceKeyWant))
	}
}

const (
	hashStringWant = 0x56e772804e7eac74
	raceKeyWant    = 0x3ffa896b36af9577
)
