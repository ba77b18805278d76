package placement

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

var benchSizes = []int{10, 100, 1000}

// benchCluster returns n alive servers on 10 racks (fewer for small n) with
// mixed capacities and some usage.
func benchCluster(n int) []Server {
	rng := rand.New(rand.NewPCG(uint64(n), 99))
	servers := randCluster(rng, clusterSpec{servers: n, racks: min(10, n/2), mixed: true})
	for i := range servers {
		servers[i].Used = servers[i].Capacity / 2
	}
	return servers
}

// BenchmarkChoose measures the one-shot Choose, which validates and indexes
// the server list on every call.
func BenchmarkChoose(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			servers, opt := benchCluster(n), DefaultOptions()
			var c uint64
			for b.Loop() {
				c++
				if _, err := Choose(servers, Request{Chunk: c, Count: 3, Size: 64 << 20}, opt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
		})
	}
}

// BenchmarkRingChoose measures decisions on a prepared Ring, the way the
// master allocates chunks.
func BenchmarkRingChoose(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			r, err := NewRing(benchCluster(n), DefaultOptions())
			if err != nil {
				b.Fatal(err)
			}
			var c uint64
			for b.Loop() {
				c++
				if _, err := r.Choose(Request{Chunk: c, Count: 3, Size: 64 << 20}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "decisions/s")
		})
	}
}

// BenchmarkNewRing measures preparing a Ring.
func BenchmarkNewRing(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("servers=%d", n), func(b *testing.B) {
			servers, opt := benchCluster(n), DefaultOptions()
			for b.Loop() {
				if _, err := NewRing(servers, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
