package client_test

import (
	"bytes"
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// BenchmarkGetLocal reads 1 MiB objects through the client library from
// the chunk servers' data planes and, in the same run, straight from their
// stores (client.Config.Local, what granary server's own gateway does). It
// reports the process's CPU seconds per object (user + system: the
// cluster runs in this process, so both sides of the read are counted).
func BenchmarkGetLocal(b *testing.B) {
	c := testcluster.Start(b, testcluster.Options{Masters: 1, ChunkServers: 3, ChunkSize: 64 << 20, Replication: 3,
		Tune:      func(cfg *master.Config) { cfg.Logger = nil },
		TuneChunk: func(cfg *chunkserver.Config) { cfg.Logger = nil }})
	cl := c.DataClient(nil)
	ctx := ctxT(&testing.T{}, time.Hour)
	if err := cl.CreateBucket(ctx, "bench"); err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat([]byte("granary!"), 1<<20/8)
	const objects = 32
	for i := range objects {
		if _, err := cl.Put(ctx, "bench", fmt.Sprint(i), bytes.NewReader(data), int64(len(data)), nil); err != nil {
			b.Fatal(err)
		}
	}
	stores := map[client.NodeID]storeReader{}
	for _, n := range c.ChunkServers() {
		stores[n.ID] = storeReader{n.Server().Store()}
	}
	local := c.DataClient(func(cfg *client.Config) {
		cfg.Local = func(id client.NodeID) client.ChunkReader {
			if r, ok := stores[id]; ok {
				return r
			}
			return nil
		}
	})
	for _, v := range []struct {
		name string
		cl   *client.Client
	}{{"remote", cl}, {"local", local}, {"remote-again", cl}, {"local-again", local}} {
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			before := cpu()
			i := 0
			for b.Loop() {
				rc, err := v.cl.Get(ctx, "bench", fmt.Sprint(i%objects))
				if err != nil {
					b.Fatal(err)
				}
				if n, err := io.Copy(io.Discard, rc); err != nil || n != int64(len(data)) {
					b.Fatal(n, err)
				}
				rc.Close()
				i++
			}
			b.ReportMetric((cpu()-before).Seconds()*1e3/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpu returns the user and system CPU time this process has used.
func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
