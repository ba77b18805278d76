package client_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver/disk"
	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/testcluster"
)

// storeReader adapts a chunk store to client.ChunkReader, as granary
// server does for its own gateway.
type storeReader struct{ s *disk.Store }

func (r storeReader) ReadRange(id client.ChunkID, off, n int64, w io.Writer) (int64, error) {
	got, err := r.s.ReadRange(uint64(id), off, n, w)
	if errors.Is(err, disk.ErrCorrupt) {
		err = fmt.Errorf("%w: %w", client.ErrReplicaCorrupt, err)
	}
	return got, err
}

// localClient returns a client that reads the replicas of the named chunk
// servers (all when none are named) straight from their stores.
func localClient(t *testing.T, c *testcluster.Cluster, ids ...client.NodeID) *client.Client {
	nodes := map[client.NodeID]*testcluster.ChunkNode{}
	for _, n := range c.ChunkServers() {
		if len(ids) == 0 || contains(ids, n.ID) {
			nodes[n.ID] = n
		}
	}
	return c.DataClient(func(cfg *client.Config) {
		cfg.Local = func(id client.NodeID) client.ChunkReader {
			if n := nodes[id]; n != nil && n.Server() != nil {
				return storeReader{n.Server().Store()}
			}
			return nil
		}
	})
}

func contains(list []client.NodeID, s client.NodeID) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// With local replicas a read does not need the chunk servers' data planes
// at all: with every one of them stalled, objects still read back, at
// every offset.
func TestLocalReadsNeedNoDataPlane(t *testing.T) {
	c, cl := startData(t, 3)
	data := payload(3*testChunk+777, 21)
	if _, err := cl.Put(ctxT(t, 30*time.Second), "data", "big", bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
	local := localClient(t, c)
	for _, n := range c.ChunkServers() {
		n.Server().SetPaused(true)
		defer n.Server().SetPaused(false)
	}
	rc, err := local.Get(ctxT(t, 30*time.Second), "data", "big")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("local read: %d bytes, %v", len(got), err)
	}
	o, err := local.Open(ctxT(t, 30*time.Second), "data", "big")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	buf := make([]byte, 5000)
	for _, off := range []int64{0, testChunk - 100, 2*testChunk + 3, int64(len(data)) - 5000} {
		if n, err := o.ReadAt(buf, off); n != len(buf) || err != nil || !bytes.Equal(buf, data[off:off+5000]) {
			t.Fatalf("ReadAt %d: %d, %v", off, n, err)
		}
	}
}

// A local replica is verified exactly like a remote one: a flipped byte in
// it is caught, the read goes on from another replica with the right
// bytes, and the master is told (it stops offering that replica).
func TestLocalReadCatchesAFlippedByte(t *testing.T) {
	c, cl := startData(t, 3)
	data := payload(testChunk-100, 22)
	if _, err := cl.Put(ctxT(t, 30*time.Second), "data", "flip", bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
	loc, err := c.Client().Locate(ctxT(t, 10*time.Second), "data", "flip")
	if err != nil {
		t.Fatal(err)
	}
	chunk, victim := loc.Locations[0].ID, loc.Locations[0].Targets[1].ID // not the one remote reads try first
	var node *testcluster.ChunkNode
	for _, n := range c.ChunkServers() {
		if n.ID == victim {
			node = n
		}
	}
	path, at, _, err := node.Server().Store().Locate(uint64(chunk))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	f.ReadAt(b[:], at+1234)
	b[0] ^= 0x08
	f.WriteAt(b[:], at+1234)
	f.Close()

	local := localClient(t, c, victim) // the corrupt replica is the only local one, so it is read first
	if got := readAll(t, local, "flip"); !bytes.Equal(got, data) {
		t.Fatal("the local read returned wrong bytes")
	}
	loc, _ = c.Client().Locate(ctxT(t, 10*time.Second), "data", "flip")
	for _, tg := range loc.Locations[0].Targets {
		if tg.ID == victim {
			t.Fatalf("the master still offers the corrupt local replica on %s", victim)
		}
	}
}
