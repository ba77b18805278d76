package client_test

import (
	"bytes"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// BenchmarkClientTLS measures what cluster mutual TLS costs: 1 MiB Put
// and Get through the client library with 8 concurrent callers, three
// replicas and fsync on, against a plain cluster and a TLS one in the same
// run (compare tls=true with tls=false). Every hop is TLS in the second:
// client to master, client to the first chunk server, the pipeline between
// chunk servers, heartbeats.
func BenchmarkClientTLS(b *testing.B) {
	const size = 1 << 20
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("tls=%v", on), func(b *testing.B) {
			c := testcluster.Start(b, testcluster.Options{
				Masters: 1, ChunkServers: 3, ChunkSize: 64 << 20, Replication: 3, TLS: on,
				Tune:      func(cfg *master.Config) { cfg.NoSync, cfg.Logger = false, nil },
				TuneChunk: func(cfg *chunkserver.Config) { cfg.Store.NoSync, cfg.Logger = false, nil },
			})
			cl := c.DataClient(nil)
			ctx := ctxT(b, 30*time.Minute)
			if err := cl.CreateBucket(ctx, "bench"); err != nil {
				b.Fatal(err)
			}
			data := payload(size, 9)
			var seq atomic.Int64
			b.Run("put", func(b *testing.B) {
				b.SetBytes(size)
				b.SetParallelism(4)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := cl.Put(ctx, "bench", fmt.Sprintf("o%d", seq.Add(1)), bytes.NewReader(data), size, nil); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
			written := seq.Load()
			b.Run("get", func(b *testing.B) {
				b.SetBytes(size)
				b.SetParallelism(4)
				var next atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						rc, err := cl.Get(ctx, "bench", fmt.Sprintf("o%d", next.Add(1)%written+1))
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
