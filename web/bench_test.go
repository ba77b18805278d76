package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/granary-store/granary/client"
)

// BenchmarkRender measures one page render at scale: 1,000 chunk servers,
// 10,000 buckets (each with its counts) and 20 S3 gateways. The data source is the in-memory fakeCluster (a
// benchmark-only stand-in behind the Cluster interface), so the numbers
// are the dashboard's own cost: the render from the shared snapshot, and,
// in the "fresh" cases, taking that snapshot too (copies of the fake's
// data, no network). Run with
//
//	go test -run '^$' -bench Render -benchmem ./web/
func BenchmarkRender(b *testing.B) {
	fake := newFake().healthy(1000)
	for i := range 10000 {
		fake.buckets = append(fake.buckets, client.Bucket{Name: fmt.Sprintf("bucket-%05d", i), Created: t0, Owner: "root", Replication: 3,
			Usage: &client.BucketUsage{Objects: int64(i) * 100, Versions: int64(i) * 120, LogicalBytes: int64(i) << 20, StoredBytes: 3 * int64(i) << 20, CountedAt: t0}})
	}
	for i := range 20 {
		fake.status.Gateways = append(fake.status.Gateways, gw(fmt.Sprintf("gw-%02d", i), fmt.Sprintf("10.0.1.%d:9000", i), 800, 1000, 500, 10, 1, 1<<30, 4<<30))
	}
	for i := range 50 {
		fake.status.ChunkServers[i*7].State = "dead"
	}
	fake.status.Chunks = client.ChunkCounts{Total: 2_000_000, UnderReplicated: 35_000}
	for _, fresh := range []bool{false, true} {
		for _, p := range []string{"/", "/servers", "/buckets", "/buckets?page=50", "/buckets?q=bucket-09", "/masters", "/gateways", "/access", "/events"} {
			name := p
			if fresh {
				name += " fresh"
			}
			b.Run(name, func(b *testing.B) {
				hs := newHarness(b, fake)
				ss := hs.h.sessions.create("root", rootAccess, hs.clock.now())
				req := httptest.NewRequest(http.MethodGet, p, nil)
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: ss.token})
				for b.Loop() {
					if fresh {
						hs.h.track.invalidate() // the next render takes a new snapshot
					}
					rec := httptest.NewRecorder()
					hs.h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatalf("GET %s: %d", p, rec.Code)
					}
				}
			})
		}
	}
}
