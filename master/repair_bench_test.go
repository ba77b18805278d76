package master_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// BenchmarkRepair measures re-replication bandwidth after a chunk server
// dies (1 MiB chunks, fsync on, default throttles: 2 copies per server),
// next to the disk's own fsynced write speed in the same run. It reports
// the bytes re-created per second from the moment the loss is detected.
func BenchmarkRepair(b *testing.B) {
	b.Run("baseline-disk-write", func(b *testing.B) {
		dir, data := b.TempDir(), bytes.Repeat([]byte{7}, 1<<20)
		b.SetBytes(64 << 20)
		for i := 0; b.Loop(); i++ {
			for j := range 64 { // as many 1 MiB files as the repair re-creates
				f, _ := os.Create(filepath.Join(dir, fmt.Sprint(i, "-", j)))
				f.Write(data)
				f.Sync()
				f.Close()
			}
		}
	})
	b.Run("repair", func(b *testing.B) {
		for b.Loop() {
			c := testcluster.Start(b, testcluster.Options{
				Masters: 1, ChunkServers: 4, Racks: 2, ChunkSize: 1 << 20, Replication: 3,
				Tune:      func(cfg *master.Config) { cfg.Logger = nil },
				TuneChunk: func(cfg *chunkserver.Config) { cfg.Store.NoSync, cfg.Logger = false, nil },
			})
			cl := c.DataClient(nil)
			ctx := ctxT(&testing.T{}, time.Minute)
			cl.CreateBucket(ctx, "bench")
			data := bytes.Repeat([]byte("granary!"), 8<<20/8)
			for i := range 8 { // 64 chunks of 1 MiB, 192 replicas
				if _, err := cl.Put(ctx, "bench", fmt.Sprint(i), bytes.NewReader(data), int64(len(data)), nil); err != nil {
					b.Fatal(err)
				}
			}
			victim := c.ChunkServers()[0]
			var lost int64
			for _, ch := range victim.Server().Store().List() {
				lost += ch.Size
			}
			c.KillChunkServer(victim)
			c.WaitFor(time.Minute, "loss detected", func() bool {
				st, err := c.Client().Status(ctx)
				return err == nil && st.Chunks.UnderReplicated > 0
			})
			start := time.Now()
			c.WaitFor(5*time.Minute, "repaired", func() bool {
				st, err := c.Client().Status(ctx)
				return err == nil && st.Chunks.UnderReplicated == 0 && st.Chunks.Missing == 0
			})
			took := time.Since(start)
			b.ReportMetric(float64(lost)/took.Seconds()/1e6, "repair-MB/s")
			b.ReportMetric(took.Seconds(), "repair-s")
			c.Stop()
		}
	})
}
