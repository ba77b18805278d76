package master_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// BenchmarkCommit measures small-object metadata commits per second through
// the HTTP API, with durable (fsynced) Raft logs, on 1 and 3 members, with
// many concurrent committers. Compare with BenchmarkBaselineFsync: more
// commits per second than fsyncs per second means group commit works.
func BenchmarkCommit(b *testing.B) {
	for _, members := range []int{1, 3} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			c := testcluster.Start(b, testcluster.Options{Masters: members, Tune: func(cfg *master.Config) {
				cfg.NoSync = false
				cfg.Logger = nil
			}})
			cl := c.Client()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			if err := cl.CreateBucket(ctx, "bench"); err != nil {
				b.Fatal(err)
			}
			var seq atomic.Int64
			b.SetParallelism(32) // 64 committers on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					key := fmt.Sprintf("obj/%09d", seq.Add(1))
					if _, err := cl.Commit(ctx, inline("bench", key, "0123456789abcdef")); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
		})
	}
}

// BenchmarkBaselineFsync is the disk's own ceiling for the same run: one
// small append and fdatasync per operation, as a naive one-fsync-per-commit
// store would do.
func BenchmarkBaselineFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "baseline"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 256)
	for b.Loop() {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fsyncs/s")
}
