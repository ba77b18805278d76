package master_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// BenchmarkConversion measures, in one run on one cluster (7 chunk
// servers, 16 MiB chunks, fsync off as in every test cluster), how fast replicated data becomes
// rs-4-2 stripes: the leader's background worker (no bandwidth bound)
// against the on-demand conversion of the client library (granary admin
// convert), each over GRANARY_CONVERT_MIB MiB (default 128) in 4 MiB
// objects of their own bucket. It reports MiB/s of each and their ratio.
func BenchmarkConversion(b *testing.B) {
	mib := envInt("GRANARY_CONVERT_MIB", 128)
	for range b.N {
		clk := &offsetClock{}
		c := testcluster.Start(b, testcluster.Options{Masters: 1, ChunkServers: 7, ChunkSize: 16 << 20, Replication: 3,
			Tune: func(cfg *master.Config) {
				cfg.Now, cfg.ConvertInterval, cfg.ConvertBandwidth = clk.Now, time.Hour, 0
			}})
		cl := c.DataClient(nil)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		for _, bucket := range []string{"bgconv", "odconv"} {
			if err := cl.CreateBucket(ctx, bucket); err != nil {
				b.Fatal(err)
			}
			for i := range mib / 4 {
				if _, err := cl.Put(ctx, bucket, fmt.Sprintf("o%04d", i), bytes.NewReader(randBytes(4<<20, uint64(i))), -1, nil); err != nil {
					b.Fatal(err)
				}
			}
		}
		start := time.Now()
		st, err := cl.Convert(ctx, "odconv", "", "rs-4-2", nil)
		if err != nil || st.Converted != int64(mib/4) {
			b.Fatalf("on-demand: %+v %v", st, err)
		}
		onDemand := time.Since(start)

		if err := c.Client().SetBucketConfig(ctx, proto.BucketConfigRequest{Bucket: "bgconv",
			Convert: &proto.ConvertRule{Policy: "rs-4-2", AfterSeconds: 60}}); err != nil {
			b.Fatal(err)
		}
		clk.mu.Lock()
		clk.d = time.Hour
		clk.mu.Unlock()
		c.WaitChunkServersAlive()
		srv := c.Leader().Server()
		start = time.Now()
		for {
			found, err := srv.ConvertOnce(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if !found {
				break
			}
		}
		background := time.Since(start)
		if p := srv.ConversionProgress(); p.ConvertedObjects != int64(mib/4) {
			b.Fatalf("background: %+v", p)
		}
		cancel()
		bg, od := float64(mib)/background.Seconds(), float64(mib)/onDemand.Seconds()
		b.ReportMetric(bg, "background-MiB/s")
		b.ReportMetric(od, "on-demand-MiB/s")
		b.ReportMetric(bg/od, "ratio")
	}
}
