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
// servers, 16 MiB chunks, fsync off as in every test cluster), how fast
// replicated data becomes rs-4-2 stripes: the leader's background worker
// (no bandwidth bound) against the on-demand conversion of the client
// library (granary admin convert), each over GRANARY_CONVERT_MIB MiB
// (default 128) in 4 MiB objects. The two take turns over four rounds of
// a quarter each, so a machine whose load drifts weighs on both alike.
// It reports MiB/s of each and their ratio.
func BenchmarkConversion(b *testing.B) {
	mib := envInt("GRANARY_CONVERT_MIB", 128)
	const rounds = 4
	per := max(mib/4/rounds, 1) // objects per round and side
	for range b.N {
		clk := &offsetClock{}
		c := testcluster.Start(b, testcluster.Options{Masters: 1, ChunkServers: 7, ChunkSize: 16 << 20, Replication: 3,
			Tune: func(cfg *master.Config) {
				cfg.Now, cfg.ConvertInterval, cfg.ConvertBandwidth = clk.Now, time.Hour, 0
			}})
		cl := c.DataClient(nil)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		if err := cl.CreateBucket(ctx, "odconv"); err != nil {
			b.Fatal(err)
		}
		for r := range rounds {
			bg := fmt.Sprintf("bgconv%d", r)
			if err := cl.CreateBucket(ctx, bg); err != nil {
				b.Fatal(err)
			}
			for i := range per {
				for _, dst := range []struct{ bucket, key string }{{bg, fmt.Sprintf("o%04d", i)}, {"odconv", fmt.Sprintf("r%d/o%04d", r, i)}} {
					if _, err := cl.Put(ctx, dst.bucket, dst.key, bytes.NewReader(randBytes(4<<20, uint64(r*per+i))), -1, nil); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		clk.mu.Lock()
		clk.d = 2 * time.Minute // under the 5 minutes the masters allow a request id, so the client still writes
		clk.mu.Unlock()
		c.WaitChunkServersAlive()
		srv := c.Leader().Server()
		var onDemand, background time.Duration
		for r := range rounds {
			start := time.Now()
			st, err := cl.Convert(ctx, "odconv", fmt.Sprintf("r%d/", r), "rs-4-2", nil)
			if err != nil || st.Converted != int64(per) {
				b.Fatalf("on-demand round %d: %+v %v", r, st, err)
			}
			onDemand += time.Since(start)
			if err := c.Client().SetBucketConfig(ctx, proto.BucketConfigRequest{Bucket: fmt.Sprintf("bgconv%d", r),
				Convert: &proto.ConvertRule{Policy: "rs-4-2", AfterSeconds: 60}}); err != nil {
				b.Fatal(err)
			}
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
			background += time.Since(start)
		}
		if p := srv.ConversionProgress(); p.ConvertedObjects != int64(rounds*per) || p.Failed != 0 {
			b.Fatalf("background: %+v", p)
		}
		cancel()
		total := float64(rounds * per * 4)
		bg, od := total/background.Seconds(), total/onDemand.Seconds()
		b.ReportMetric(bg, "background-MiB/s")
		b.ReportMetric(od, "on-demand-MiB/s")
		b.ReportMetric(bg/od, "ratio")
	}
}
