package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// chunkWriter writes straight through a chunk server of the test process,
// as granary server's gateway does, counting its writes; with fail set it
// fails them all.
type chunkWriter struct {
	storeReader
	cs     *chunkserver.Server
	writes *atomic.Int64
	fail   bool
}

func (w chunkWriter) StartChunk(ctx context.Context, id client.ChunkID, r io.Reader, n int64) (func() error, error) {
	w.writes.Add(1)
	if w.fail {
		return nil, errors.New("injected local write failure")
	}
	return w.cs.StartLocal(ctx, id, r, n)
}

// writerClient returns a client for which every chunk server of c is on
// this host and written directly; the one named failing fails its writes.
func writerClient(t *testing.T, c *testcluster.Cluster, writes *atomic.Int64, failing client.NodeID) *client.Client {
	nodes := map[client.NodeID]*testcluster.ChunkNode{}
	for _, n := range c.ChunkServers() {
		nodes[n.ID] = n
	}
	return c.DataClient(func(cfg *client.Config) {
		cfg.Local = func(id client.NodeID) client.ChunkReader {
			n := nodes[id]
			if n == nil || n.Server() == nil {
				return nil
			}
			return chunkWriter{storeReader{n.Server().Store()}, n.Server(), writes, id == failing}
		}
	})
}

// replicaTotal counts the chunks held by every chunk server of c.
func replicaTotal(c *testcluster.Cluster) int {
	total := 0
	for _, n := range c.ChunkServers() {
		total += len(n.Server().Store().List())
	}
	return total
}

// A Put whose chunk servers are all on this host writes every replica
// straight to them, small chunks and large: it needs none of their data
// planes (all stalled here), every replica lands, and the objects read
// back through the data planes once they run again.
func TestLocalWritesNeedNoDataPlane(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 1, ChunkServers: 3, ChunkSize: 4 << 20,
		// Paused servers send no heartbeats: they must not be taken for
		// dead however slow the machine.
		Tune: func(cfg *master.Config) { cfg.DeadAfter = time.Minute }})
	var writes atomic.Int64
	local := writerClient(t, c, &writes, "")
	ctx := ctxT(t, time.Minute)
	if err := local.CreateBucket(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.ChunkServers() {
		n.Server().SetPaused(true)
	}
	objects := map[string][]byte{"small": payload(3000, 1), "big": payload(5<<20+17, 2)} // 1 chunk, then 2
	for key, data := range objects {
		if _, err := local.Put(ctx, "data", key, bytes.NewReader(data), int64(len(data)), nil); err != nil {
			t.Fatalf("put %s with every data plane stalled: %v", key, err)
		}
	}
	for _, n := range c.ChunkServers() {
		n.Server().SetPaused(false)
	}
	if got := writes.Load(); got != 3*3 {
		t.Fatalf("%d local writes for 3 chunks of 3 replicas", got)
	}
	if got := replicaTotal(c); got != 3*3 {
		t.Fatalf("the chunk servers hold %d replicas; want 9", got)
	}
	remote := c.DataClient(nil)
	for key, data := range objects {
		if got := readAll(t, remote, key); !bytes.Equal(got, data) {
			t.Fatalf("%s read back %d bytes, not what was written", key, len(got))
		}
	}
}

// A local write that fails is a failed replica like any other: the chunk
// goes to fresh servers without that one, and the Put succeeds.
func TestFailedLocalWriteIsRetriedElsewhere(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 1, ChunkServers: 4, ChunkSize: 4 << 20})
	var writes atomic.Int64
	bad := c.ChunkServers()[1].ID
	local := writerClient(t, c, &writes, bad)
	ctx := ctxT(t, time.Minute)
	if err := local.CreateBucket(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	for i, size := range []int{100, 5000, 300 << 10, 2 << 20} {
		key := string(rune('a' + i))
		want[key] = payload(int64(size), uint64(i))
		if _, err := local.Put(ctx, "data", key, bytes.NewReader(want[key]), int64(size), nil); err != nil {
			t.Fatalf("put %d bytes: %v", size, err)
		}
	}
	if n := len(c.ChunkServers()[1].Server().Store().List()); n != 0 {
		t.Fatalf("the server whose local writes fail holds %d chunks", n)
	}
	for key, data := range want {
		if got := readAll(t, local, key); !bytes.Equal(got, data) {
			t.Fatalf("%s read back %d bytes, not what was written", key, len(got))
		}
	}
}

// A local write of other than the length it declares is refused, and
// leaves nothing behind.
func TestLocalWriteOfTheWrongLength(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 1, ChunkServers: 1, ChunkSize: 4 << 20, Replication: 1})
	cs := c.ChunkServers()[0].Server()
	for _, tc := range []struct {
		data []byte
		n    int64
	}{{[]byte("abc"), 2}, {[]byte("abc"), 4}, {[]byte("abc"), -1}} {
		if err := cs.WriteLocal(context.Background(), 77, bytes.NewReader(tc.data), tc.n); err == nil {
			t.Errorf("%d bytes declared as %d: written", len(tc.data), tc.n)
		}
	}
	if n := len(cs.Store().List()); n != 0 {
		t.Fatalf("the refused writes left %d chunks", n)
	}
	if err := cs.WriteLocal(context.Background(), 77, bytes.NewReader([]byte("abc")), 3); err != nil {
		t.Fatal(err)
	}
}
