package master_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// BenchmarkRepairSpeed measures how fast a lost chunk server's data is
// re-protected, with production timing (3 s heartbeats and repair rounds,
// fsync on), for many small chunks and for few large ones, next to the
// disk's own bandwidth in the same run: the same number of files of the
// same size, written and fsynced by 4 writers at once (the surviving
// servers share this one disk). It reports repair-MB/s, disk-MB/s and
// their ratio, counted from the moment the loss is detected.
//
// Sizes: GRANARY_REPAIR_SMALL chunks of 64 KiB (default 20000) and
// GRANARY_REPAIR_LARGE chunks of 64 MiB (default 40); make bench-repair
// runs it. GRANARY_REPAIR_CPUPROFILE=FILE profiles the repairs alone.
func BenchmarkRepairSpeed(b *testing.B) {
	small, large := envInt("GRANARY_REPAIR_SMALL", 20000), envInt("GRANARY_REPAIR_LARGE", 40)
	b.Run(fmt.Sprintf("small-%dx64KiB", small), func(b *testing.B) { benchRepair(b, small, 64<<10) })
	b.Run(fmt.Sprintf("large-%dx64MiB", large), func(b *testing.B) { benchRepair(b, large, 64<<20) })
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func benchRepair(b *testing.B, chunks int, size int64) {
	for b.Loop() {
		c := testcluster.Start(b, testcluster.Options{
			Masters: 1, ChunkServers: 4, Racks: 2, ChunkSize: size, Replication: 3,
			Tune: func(cfg *master.Config) {
				cfg.Logger = nil
				d := master.DefaultConfig()
				cfg.HeartbeatInterval, cfg.RepairInterval, cfg.DeadAfter = d.HeartbeatInterval, d.RepairInterval, 10*time.Second
				cfg.MaxRepairPerServer, cfg.MaxRepairPerRound, cfg.MaxRepairBytesPerServer = d.MaxRepairPerServer, d.MaxRepairPerRound, d.MaxRepairBytesPerServer
			},
			TuneChunk: func(cfg *chunkserver.Config) {
				d := chunkserver.DefaultConfig()
				cfg.Store.NoSync, cfg.Logger = false, nil
				cfg.MaxCopies, cfg.RepairBandwidth = d.MaxCopies, d.RepairBandwidth
			},
		})
		cl := c.DataClient(nil)
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		if err := cl.CreateBucket(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
		data := bytes.Repeat([]byte("granary!"), int(size)/8)
		var wg sync.WaitGroup
		errc := make(chan error, 16)
		for w := range 16 {
			wg.Add(1)
			go func() { // owned by this loop: ends when its share is written
				defer wg.Done()
				for i := w; i < chunks; i += 16 {
					if _, err := cl.Put(ctx, "bench", fmt.Sprint(i), bytes.NewReader(data), size, nil); err != nil {
						errc <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		victim := c.ChunkServers()[0]
		var lost int64
		files := 0
		for _, ch := range victim.Server().Store().List() {
			lost += ch.Size
			files++
		}
		c.KillChunkServer(victim)
		c.WaitFor(time.Minute, "loss detected", func() bool {
			st, err := c.Client().Status(ctx)
			return err == nil && st.Chunks.UnderReplicated > 0
		})
		stopProfile := profileRepair(b)
		start := time.Now()
		// Polled every 100 ms, not WaitFor's 20: a status counts every
		// chunk, and 50 of them a second would take CPU from the repair.
		for {
			st, err := c.Client().Status(ctx)
			if err == nil && st.Chunks.UnderReplicated == 0 && st.Chunks.Missing == 0 {
				break
			}
			if time.Since(start) > time.Hour {
				b.Fatal("not repaired within an hour")
			}
			time.Sleep(100 * time.Millisecond)
		}
		took := time.Since(start)
		stopProfile()
		c.Stop()
		cancel()
		disk := diskBandwidth(b, files, size)
		repair := float64(lost) / took.Seconds() / 1e6
		b.ReportMetric(repair, "repair-MB/s")
		b.ReportMetric(disk, "disk-MB/s")
		b.ReportMetric(repair/disk, "repair/disk")
		b.ReportMetric(took.Seconds(), "repair-s")
		b.ReportMetric(float64(files)/took.Seconds(), "chunks/s")
	}
}

// profileRepair starts a CPU profile of the repair alone when
// GRANARY_REPAIR_CPUPROFILE names a file (the sub-benchmark's name is
// appended), and returns what stops it.
func profileRepair(b *testing.B) func() {
	name := os.Getenv("GRANARY_REPAIR_CPUPROFILE")
	if name == "" {
		return func() {}
	}
	f, err := os.Create(name + "." + strings.ReplaceAll(b.Name(), "/", "_"))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Error(err)
		}
	}
}

// diskBandwidth writes files files of size bytes with 4 writers, each
// fsynced, and returns MB/s.
func diskBandwidth(b *testing.B, files int, size int64) float64 {
	dir := b.TempDir()
	data := bytes.Repeat([]byte{7}, int(size))
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() { // owned by this call: ends when its share is written
			defer wg.Done()
			for i := w; i < files; i += 4 {
				f, err := os.Create(filepath.Join(dir, strconv.Itoa(i)))
				if err != nil {
					b.Error(err)
					return
				}
				_, err = f.Write(data)
				if err == nil {
					err = f.Sync()
				}
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(files) * float64(size) / time.Since(start).Seconds() / 1e6
}
