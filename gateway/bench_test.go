package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/gateway"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// latencies collects per-operation times for percentiles.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	slices.Sort(l.d)
	if len(l.d) == 0 {
		return
	}
	pct := func(p float64) float64 { return float64(l.d[int(p*float64(len(l.d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkS3 measures PUT and GET through the gateway (minio-go) and
// through the client library for the same work, at 16 concurrent callers,
// on a durable cluster (fsync on, replication 3): the gateway's overhead
// is the ratio of the two.
func BenchmarkS3(b *testing.B) {
	c := testcluster.Start(b, testcluster.Options{Masters: 1, ChunkServers: 3, ChunkSize: 64 << 20, Replication: 3,
		Tune:      func(cfg *master.Config) { cfg.NoSync, cfg.Logger = false, nil },
		TuneChunk: func(cfg *chunkserver.Config) { cfg.Store.NoSync, cfg.Logger = false, nil }})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	cfg := gateway.DefaultConfig()
	cfg.Masters, cfg.ClusterSecret, cfg.Listener = c.Addrs(), testcluster.Secret, ln
	cfg.RootAccessKey, cfg.RootSecretKey = rootAccess, rootSecret
	cfg.Logger = slog.New(slog.DiscardHandler)
	gw, err := gateway.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go gw.Run(ctx)
	mc, _ := minio.New(gw.Addr(), &minio.Options{Creds: credentials.NewStaticV4(rootAccess, rootSecret, "")})
	mc.MakeBucket(ctx, "bench", minio.MakeBucketOptions{})
	cl := c.DataClient(nil)
	for _, size := range []int64{4 << 10, 1 << 20, 64 << 20} {
		data := bytes.Repeat([]byte("g"), int(size))
		var seq atomic.Int64
		put := map[string]func(key string) error{
			"s3": func(key string) error {
				_, err := mc.PutObject(ctx, "bench", key, bytes.NewReader(data), size, minio.PutObjectOptions{PartSize: 64 << 20})
				return err
			},
			"native": func(key string) error {
				_, err := cl.Put(ctx, "bench", key, bytes.NewReader(data), size, nil)
				return err
			},
		}
		get := map[string]func(key string) error{
			"s3": func(key string) error {
				o, err := mc.GetObject(ctx, "bench", key, minio.GetObjectOptions{})
				if err == nil {
					_, err = io.Copy(io.Discard, o)
					o.Close()
				}
				return err
			},
			"native": func(key string) error {
				rc, err := cl.Get(ctx, "bench", key)
				if err == nil {
					_, err = io.Copy(io.Discard, rc)
					rc.Close()
				}
				return err
			},
		}
		for _, via := range []string{"native", "s3"} {
			written := &atomic.Int64{}
			b.Run(fmt.Sprintf("size=%d/via=%s/op=put", size, via), func(b *testing.B) {
				run(b, size, func() error {
					n := seq.Add(1)
					written.Store(n)
					return put[via](fmt.Sprintf("o%d", n))
				})
			})
			b.Run(fmt.Sprintf("size=%d/via=%s/op=get", size, via), func(b *testing.B) {
				var next atomic.Int64
				top := written.Load()
				run(b, size, func() error { return get[via](fmt.Sprintf("o%d", top-next.Add(1)%max(top/2, 1))) })
			})
		}
	}
}

func run(b *testing.B, size int64, op func() error) {
	var lat latencies
	b.SetBytes(size)
	b.SetParallelism(8) // 16 callers on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			start := time.Now()
			if err := op(); err != nil {
				b.Error(err)
				return
			}
			lat.add(time.Since(start))
		}
	})
	b.StopTimer()
	lat.report(b)
}
