package master_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

func healCluster(t *testing.T, masters, chunkServers int, tune func(*master.Config), tuneChunk func(*chunkserver.ServerConfig)) (*testcluster.Cluster, *client.Client) {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{
		Masters: masters, ChunkServers: chunkServers, Racks: 2, ChunkSize: 64 << 10, Replication: 3,
		Tune: func(cfg *master.Config) {
			cfg.MaxRepairPerServer = 8
			if tune != nil {
				tune(cfg)
			}
		},
		TuneChunk: tuneChunk,
	})
	cl := c.DataClient(nil)
	if err := cl.CreateBucket(ctxT(t, 10*time.Second), "heal"); err != nil {
		t.Fatal(err)
	}
	return c, cl
}

// putMany writes n objects of one chunk each and returns their contents.
func putMany(t *testing.T, cl *client.Client, n int) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for i := range n {
		key := fmt.Sprintf("obj%04d", i)
		data := bytes.Repeat([]byte{byte(i), byte(i >> 8), 0x5a}, 7000) // 21 KB: chunked, one chunk
		if _, err := cl.Put(ctxT(t, 30*time.Second), "heal", key, bytes.NewReader(data), int64(len(data)), nil); err != nil {
			t.Fatal(err)
		}
		out[key] = data
	}
	return out
}

func status(t *testing.T, c *testcluster.Cluster) proto.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.Client().Status(ctx)
	if err != nil {
		return proto.Status{Chunks: proto.ChunkCounts{UnderReplicated: -1}}
	}
	return st
}

// replicaCounts counts, for every chunk of the objects, the running chunk
// servers whose store holds it and verifies, and the distinct racks.
func replicaCounts(t *testing.T, c *testcluster.Cluster, cl *client.Client, keys map[string][]byte) (copies, racks map[uint64]int) {
	t.Helper()
	copies, racks = map[uint64]int{}, map[uint64]int{}
	for key := range keys {
		st, err := cl.Stat(ctxT(t, 10*time.Second), "heal", key)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range st.Extents {
			seen := map[string]bool{}
			for _, n := range c.ChunkServers() {
				if srv := n.Server(); srv != nil && srv.Store().Verify(e.Chunk) == nil {
					copies[e.Chunk]++
					seen[n.Rack] = true
				}
			}
			racks[e.Chunk] = len(seen)
		}
	}
	return copies, racks
}

func readBack(t *testing.T, cl *client.Client, keys map[string][]byte) {
	t.Helper()
	for key, want := range keys {
		rc, err := cl.Get(ctxT(t, 30*time.Second), "heal", key)
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s differs: %v", key, err)
		}
	}
}

func TestKilledChunkServerIsRepairedAndTrimmedOnReturn(t *testing.T) {
	c, cl := healCluster(t, 1, 4, nil, nil)
	keys := putMany(t, cl, 200)
	victim := c.ChunkServers()[1]
	lost := len(victim.Server().Store().List())
	var lostBytes int64
	for _, ch := range victim.Server().Store().List() {
		lostBytes += ch.Size
	}
	killed := time.Now()
	c.KillChunkServer(victim)
	c.WaitFor(30*time.Second, "the dead server noticed", func() bool {
		return status(t, c).Chunks.UnderReplicated > 0
	})
	c.WaitFor(120*time.Second, "underReplicated back to 0", func() bool {
		st := status(t, c)
		return st.Chunks.UnderReplicated == 0 && st.Chunks.Missing == 0 && st.Repair.InflightCopies == 0
	})
	took := time.Since(killed)
	t.Logf("repaired %d replicas (%d KiB) in %v including %v of dead-after: %.1f KiB/s",
		lost, lostBytes>>10, took, 2*time.Second, float64(lostBytes>>10)/took.Seconds())
	copies, racks := replicaCounts(t, c, cl, keys)
	for ch, n := range copies {
		if n != 3 || racks[ch] < 2 {
			t.Errorf("chunk %d has %d live replicas on %d racks, want 3 on 2", ch, n, racks[ch])
		}
	}
	readBack(t, cl, keys)

	// The dead server returns with its old replicas: they are trimmed.
	c.RestartChunkServer(victim)
	c.WaitFor(60*time.Second, "over-replicated chunks trimmed", func() bool {
		st := status(t, c)
		if st.Chunks.OverReplicated != 0 || st.Chunks.UnderReplicated != 0 || st.Repair.InflightDeletes != 0 {
			return false
		}
		copies, _ := replicaCounts(t, c, cl, keys)
		for _, n := range copies {
			if n != 3 {
				return false
			}
		}
		return true
	})
	copies, racks = replicaCounts(t, c, cl, keys)
	for ch, n := range copies {
		if n != 3 || racks[ch] < 2 {
			t.Errorf("after trimming chunk %d has %d replicas on %d racks", ch, n, racks[ch])
		}
	}
}
