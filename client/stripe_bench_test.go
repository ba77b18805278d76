package client_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// BenchmarkErasure compares, on one durable cluster of six chunk servers
// in one run, PUT and GET of whole objects of 1, 16 and 64 MiB under
// rep-3, rs-4-2 and rs-2-1, and a GET of rs-4-2 with one shard server down
// (degraded). It reports CPU per operation (the whole process: client,
// masters and chunk servers all run here), and the bytes stored per byte
// written. Compare policies as ratios to rep-3 within the run; the
// machine is shared.
func BenchmarkErasure(b *testing.B) {
	c := testcluster.Start(b, testcluster.Options{
		Masters: 1, ChunkServers: 6, ChunkSize: 64 << 20, Replication: 3,
		Tune:      func(cfg *master.Config) { cfg.NoSync, cfg.Logger = false, nil },
		TuneChunk: func(cfg *chunkserver.Config) { cfg.Store.NoSync, cfg.Logger = false, nil },
	})
	cl := c.DataClient(nil)
	ctx := ctxT(b, 30*time.Minute)
	for _, p := range []string{"rep-3", "rs-4-2", "rs-2-1"} {
		if err := cl.CreateBucketWith(ctx, client.BucketSpec{Name: "b-" + p, DataPolicy: p}); err != nil {
			b.Fatal(err)
		}
	}
	for _, size := range []int64{1 << 20, 16 << 20, 64 << 20} {
		data := payload(size, 3)
		for _, p := range []string{"rep-3", "rs-4-2", "rs-2-1"} {
			bucket := "b-" + p
			name := fmt.Sprintf("size=%dMiB/policy=%s", size>>20, p)
			b.Run(name+"/put", func(b *testing.B) {
				b.SetBytes(size)
				start := cpu()
				for i := 0; i < b.N; i++ {
					if _, err := cl.Put(ctx, bucket, fmt.Sprintf("%d-%d", size, i), bytes.NewReader(data), size, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric((cpu()-start).Seconds()*1e3/float64(b.N), "cpu-ms/op")
				b.ReportMetric(storedRatio(b, c, bucket), "stored/logical")
			})
			b.Run(name+"/get", func(b *testing.B) {
				b.SetBytes(size)
				start := cpu()
				for i := 0; i < b.N; i++ {
					rc, err := cl.Get(ctx, bucket, fmt.Sprintf("%d-0", size))
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, rc)
					rc.Close()
				}
				b.ReportMetric((cpu()-start).Seconds()*1e3/float64(b.N), "cpu-ms/op")
			})
		}
	}
	// Degraded: the server of the first data shard of the object is down.
	loc, err := c.Client().Locate(ctx, "b-rs-4-2", fmt.Sprintf("%d-0", 16<<20))
	if err != nil {
		b.Fatal(err)
	}
	first := loc.Object.Extents[0].Stripe.Shards[0]
	for _, l := range loc.Locations {
		for _, n := range c.ChunkServers() {
			if l.ID == first && n.ID == l.Targets[0].ID {
				c.KillChunkServer(n)
			}
		}
	}
	b.Run("size=16MiB/policy=rs-4-2/get-degraded", func(b *testing.B) {
		b.SetBytes(16 << 20)
		start := cpu()
		for i := 0; i < b.N; i++ {
			rc, err := cl.Get(ctx, "b-rs-4-2", fmt.Sprintf("%d-0", 16<<20))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, rc); err != nil {
				b.Fatal(err)
			}
			rc.Close()
		}
		b.ReportMetric((cpu()-start).Seconds()*1e3/float64(b.N), "cpu-ms/op")
	})
}

// storedRatio is the bucket's stored bytes per logical byte as the leader
// counts them from the objects' layouts (a count of the files on disk
// would mix in the garbage of earlier runs, collected meanwhile).
func storedRatio(b *testing.B, c *testcluster.Cluster, bucket string) float64 {
	ctx := ctxT(b, time.Minute)
	if err := c.Leader().Server().CountBucketsOnce(ctx); err != nil {
		b.Fatal(err)
	}
	bk, err := c.DataClient(nil).Admin().Bucket(ctx, bucket)
	if err != nil || bk.Usage == nil || bk.Usage.LogicalBytes == 0 {
		b.Fatalf("bucket %s: usage %+v, %v", bucket, bk.Usage, err)
	}
	return float64(bk.Usage.StoredBytes) / float64(bk.Usage.LogicalBytes)
}
