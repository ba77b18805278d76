package client_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

var benchSizes = []struct {
	name string
	size int64
}{{"4KiB", 4 << 10}, {"1MiB", 1 << 20}, {"64MiB", 64 << 20}}

// durableCluster starts a cluster that fsyncs like production: Raft log
// and chunk files.
func durableCluster(b *testing.B, rf int) (*testcluster.Cluster, *client.Client) {
	c := testcluster.Start(b, testcluster.Options{
		Masters: 1, ChunkServers: 3, ChunkSize: 64 << 20, Replication: rf,
		Tune:      func(cfg *master.Config) { cfg.NoSync, cfg.Logger = false, nil },
		TuneChunk: func(cfg *chunkserver.Config) { cfg.Store.NoSync, cfg.Logger = false, nil },
	})
	cl := c.DataClient(nil)
	if err := cl.CreateBucket(ctxT(b, 10*time.Second), "bench"); err != nil {
		b.Fatal(err)
	}
	return c, cl
}

// BenchmarkClient measures Put and Get throughput through the client
// library with 8 concurrent callers. Compare with BenchmarkBaselineFile
// (the same bytes to plain files on the same disk in the same run).
func BenchmarkClient(b *testing.B) {
	for _, rf := range []int{1, 3} {
		for _, sz := range benchSizes {
			b.Run(fmt.Sprintf("rf=%d/size=%s", rf, sz.name), func(b *testing.B) {
				_, cl := durableCluster(b, rf)
				data := payload(sz.size, 9)
				ctx := ctxT(b, 30*time.Minute)
				var seq atomic.Int64
				b.Run("put", func(b *testing.B) {
					b.SetBytes(sz.size)
					b.SetParallelism(4)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							key := fmt.Sprintf("o%d", seq.Add(1))
							if _, err := cl.Put(ctx, "bench", key, bytes.NewReader(data), sz.size, nil); err != nil {
								b.Error(err)
								return
							}
						}
					})
				})
				written := seq.Load()
				b.Run("get", func(b *testing.B) {
					b.SetBytes(sz.size)
					b.SetParallelism(4)
					var next atomic.Int64
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							key := fmt.Sprintf("o%d", next.Add(1)%written+1)
							rc, err := cl.Get(ctx, "bench", key)
							if err != nil {
								b.Error(err)
								return
							}
							io.Copy(io.Discard, rc)
							rc.Close()
						}
					})
				})
			})
		}
	}
}

// BenchmarkBaselineFile writes (with fsync) and reads the same sizes as
// plain files in one directory: the disk's own speed for the same work.
func BenchmarkBaselineFile(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run("size="+sz.name, func(b *testing.B) {
			dir := b.TempDir()
			data := payload(sz.size, 9)
			var seq atomic.Int64
			b.Run("write", func(b *testing.B) {
				b.SetBytes(sz.size)
				b.SetParallelism(4)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						f, err := os.Create(filepath.Join(dir, fmt.Sprint(seq.Add(1))))
						if err != nil {
							b.Error(err)
							return
						}
						f.Write(data)
						f.Sync()
						f.Close()
					}
				})
			})
			written := seq.Load()
			b.Run("read", func(b *testing.B) {
				b.SetBytes(sz.size)
				b.SetParallelism(4)
				var next atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						f, err := os.Open(filepath.Join(dir, fmt.Sprint(next.Add(1)%written+1)))
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, f)
						f.Close()
					}
				})
			})
		})
	}
}

// BenchmarkInlineThreshold compares storing small objects inline in the
// metadata with storing them in chunks, to choose the threshold.
func BenchmarkInlineThreshold(b *testing.B) {
	for _, size := range []int64{1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10} {
		for _, inline := range []bool{true, false} {
			b.Run(fmt.Sprintf("size=%d/inline=%v", size, inline), func(b *testing.B) {
				c := testcluster.Start(b, testcluster.Options{
					Masters: 1, ChunkServers: 3, Replication: 3,
					Tune:      func(cfg *master.Config) { cfg.NoSync, cfg.Logger = false, nil },
					TuneChunk: func(cfg *chunkserver.Config) { cfg.Store.NoSync, cfg.Logger = false, nil },
				})
				threshold := int64(-1)
				if inline {
					threshold = 256 << 10
				}
				cl := c.DataClient(func(cfg *client.Config) { cfg.InlineThreshold = threshold })
				ctx := ctxT(b, 10*time.Minute)
				if err := cl.CreateBucket(ctx, "bench"); err != nil {
					b.Fatal(err)
				}
				data := payload(size, 3)
				var seq atomic.Int64
				b.SetBytes(size)
				b.SetParallelism(4)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						key := fmt.Sprintf("o%d", seq.Add(1))
						if _, err := cl.Put(ctx, "bench", key, bytes.NewReader(data), size, nil); err != nil {
							b.Error(err)
							return
						}
						rc, err := cl.Get(ctx, "bench", key)
						if err != nil {
							b.Error(err)
							return
						}
						io.Copy(io.Discard, rc)
						rc.Close()
					}
				})
			})
		}
	}
}
