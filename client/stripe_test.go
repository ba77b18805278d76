package client_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/testcluster"
)

// startErasure runs seven chunk servers and a bucket "ecb" with policy
// rs-4-2.
func startErasure(t *testing.T) (*testcluster.Cluster, *client.Client) {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Masters: 1, ChunkServers: 7, ChunkSize: testChunk})
	cl := c.DataClient(nil)
	if err := cl.CreateBucketWith(ctxT(t, 10*time.Second), client.BucketSpec{Name: "ecb", DataPolicy: "rs-4-2"}); err != nil {
		t.Fatal(err)
	}
	return c, cl
}

func readEC(t *testing.T, cl *client.Client, key string, off, n int64) ([]byte, error) {
	t.Helper()
	o, err := cl.Open(ctxT(t, 30*time.Second), "ecb", key)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	_, err = o.WriteRange(&b, off, n)
	return b.Bytes(), err
}

// TestErasureCodedObjects: objects of many sizes in an rs-4-2 bucket are
// stored as stripes of six single-copy shards on six distinct servers,
// read back whole and in ranges, and read back byte for byte with any two
// shard servers down; with three down the read fails and says why.
func TestErasureCodedObjects(t *testing.T) {
	c, cl := startErasure(t)
	ctx := ctxT(t, 3*time.Minute)
	sizes := []int64{20_000, testChunk - 1, testChunk, testChunk + 1, 3*testChunk + 12345}
	objects := map[string][]byte{}
	for i, n := range sizes {
		key := fmt.Sprintf("obj-%d", n)
		objects[key] = payload(n, uint64(i+40))
		if _, err := cl.Put(ctx, "ecb", key, bytes.NewReader(objects[key]), -1, nil); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		loc, err := c.Client().Locate(ctx, "ecb", key)
		if err != nil {
			t.Fatal(err)
		}
		holders := map[client.ChunkID]client.NodeID{}
		for _, l := range loc.Locations {
			if len(l.Targets) != 1 {
				t.Fatalf("%s: chunk %d has %d replicas, want 1 (a shard)", key, l.ID, len(l.Targets))
			}
			holders[l.ID] = l.Targets[0].ID
		}
		for _, e := range loc.Object.Extents {
			st := e.Stripe
			if st == nil || st.K != 4 || st.M != 2 || len(st.Shards) != 6 {
				t.Fatalf("%s: extent %+v is not an rs-4-2 stripe", key, e)
			}
			servers := map[client.NodeID]bool{}
			for _, id := range st.Shards {
				servers[holders[id]] = true
			}
			if len(servers) != 6 {
				t.Fatalf("%s: a stripe's six shards are on %d servers", key, len(servers))
			}
		}
	}
	check := func(when string) {
		t.Helper()
		for key, want := range objects {
			got, err := readEC(t, cl, key, 0, int64(len(want)))
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s: read %s: %d bytes, %v", when, key, len(got), err)
			}
			n := int64(len(want))
			for _, r := range [][2]int64{{0, 1}, {n / 3, 4096}, {n - 10, 10}, {n / 2, n / 2}} {
				off, m := r[0], min(r[1], n-r[0])
				got, err := readEC(t, cl, key, off, m)
				if err != nil || !bytes.Equal(got, want[off:off+m]) {
					t.Fatalf("%s: read %s [%d,+%d): %v", when, key, off, m, err)
				}
			}
		}
	}
	check("healthy")

	// Any two servers down: every stripe loses at most two shards.
	servers := c.ChunkServers()
	for i := 0; i < len(servers); i++ {
		for j := i + 1; j < len(servers); j++ {
			if (i+j)%3 != 0 && !(i == 0 && j == 1) {
				continue // a third of the pairs keeps the test short; every server is in one
			}
			c.KillChunkServer(servers[i])
			c.KillChunkServer(servers[j])
			check(fmt.Sprintf("%s and %s down", servers[i].ID, servers[j].ID))
			c.RestartChunkServer(servers[i])
			c.RestartChunkServer(servers[j])
		}
	}
	c.WaitChunkServersAlive()

	// Three servers holding shards of one stripe down: its object cannot
	// be read, and the error says so.
	key := fmt.Sprintf("obj-%d", testChunk)
	loc, err := c.Client().Locate(ctx, "ecb", key)
	if err != nil {
		t.Fatal(err)
	}
	down := map[client.NodeID]bool{}
	for _, l := range loc.Locations[:3] {
		down[l.Targets[0].ID] = true
	}
	for _, n := range servers {
		if down[n.ID] {
			c.KillChunkServer(n)
		}
	}
	if _, err := readEC(t, cl, key, 0, testChunk); err == nil || !strings.Contains(err.Error(), "readable shards") {
		t.Fatalf("read with three shards gone: %v", err)
	}
}

// TestErasureCodedCorruptShard: a flipped byte in a data shard is found by
// the chunk server's checksums, and the read rebuilds the range from the
// other shards.
func TestErasureCodedCorruptShard(t *testing.T) {
	c, cl := startErasure(t)
	ctx := ctxT(t, time.Minute)
	data := payload(testChunk, 77)
	if _, err := cl.Put(ctx, "ecb", "flip", bytes.NewReader(data), -1, nil); err != nil {
		t.Fatal(err)
	}
	loc, err := c.Client().Locate(ctx, "ecb", "flip")
	if err != nil {
		t.Fatal(err)
	}
	first := loc.Object.Extents[0].Stripe.Shards[0]
	var node *testcluster.ChunkNode
	for _, l := range loc.Locations {
		if l.ID == first {
			for _, n := range c.ChunkServers() {
				if n.ID == l.Targets[0].ID {
					node = n
				}
			}
		}
	}
	path, at := chunkPath(t, node, first)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	f.ReadAt(b[:], at+100)
	b[0] ^= 0x20
	f.WriteAt(b[:], at+100)
	f.Close()
	got, err := readEC(t, cl, "flip", 0, int64(len(data)))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read past a corrupt shard: %d bytes, %v", len(got), err)
	}
}

// TestStorageByPolicy: status totals data by policy, so the overhead
// shows: about 1.5 stored bytes per logical byte for rs-4-2 and 3 for
// rep-3, once the chunk servers have reported their chunks.
func TestStorageByPolicy(t *testing.T) {
	c, cl := startErasure(t)
	ctx := ctxT(t, time.Minute)
	if err := cl.CreateBucketWith(ctx, client.BucketSpec{Name: "rep3", DataPolicy: "rep-3"}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"ecb", "rep3"} {
		for i := range 3 {
			data := payload(testChunk*2+int64(i)*1000, uint64(i))
			if _, err := cl.Put(ctx, b, fmt.Sprintf("o%d", i), bytes.NewReader(data), -1, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	ratio := map[string]float64{}
	c.WaitFor(30*time.Second, "status to total both policies", func() bool {
		st, err := c.Client().Status(ctx)
		if err != nil {
			return false
		}
		clear(ratio)
		for _, u := range st.Storage {
			if u.LogicalBytes >= 6*testChunk {
				ratio[u.Policy] = float64(u.StoredBytes) / float64(u.LogicalBytes)
			}
		}
		return ratio["rs-4-2"] >= 1.5 && ratio["rep-3"] >= 3
	})
	if ratio["rs-4-2"] > 1.6 || ratio["rep-3"] > 3.01 {
		t.Fatalf("stored per logical byte: %v", ratio)
	}
}
