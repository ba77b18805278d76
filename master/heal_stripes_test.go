package master_test

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// ecChunk is the chunk size of the erasure-coding tests: rs-4-2 stripes
// of 64 KiB cells.
const ecChunk = 256 << 10

// ecCluster runs seven chunk servers and a bucket "ecb" with policy
// rs-4-2 (and "rep", replicated three times, beside it).
func ecCluster(t *testing.T, tuneChunk func(*chunkserver.Config)) (*testcluster.Cluster, *client.Client) {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{
		Masters: 1, ChunkServers: 7, ChunkSize: ecChunk, Replication: 3,
		Tune:      func(cfg *master.Config) { cfg.MaxRepairPerServer = 8 },
		TuneChunk: tuneChunk,
	})
	cl := c.DataClient(nil)
	ctx := ctxT(t, 10*time.Second)
	if err := cl.CreateBucketWith(ctx, client.BucketSpec{Name: "ecb", DataPolicy: "rs-4-2"}); err != nil {
		t.Fatal(err)
	}
	if err := cl.CreateBucket(ctx, "rep"); err != nil {
		t.Fatal(err)
	}
	return c, cl
}

// putSizes writes objects of many sizes (empty trailing shards, short
// last rows, several stripes) to bucket and returns their contents.
func putSizes(t *testing.T, cl *client.Client, bucket string, sizes []int64) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for i, n := range sizes {
		key := fmt.Sprintf("obj-%03d-%d", i, n)
		r := rand.New(rand.NewPCG(uint64(i), uint64(n)))
		data := make([]byte, n)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		if _, err := cl.Put(ctxT(t, 30*time.Second), bucket, key, bytes.NewReader(data), -1, nil); err != nil {
			t.Fatalf("put %s/%s: %v", bucket, key, err)
		}
		out[key] = data
	}
	return out
}

var ecSizes = []int64{1000, 70_000, ecChunk - 1, ecChunk, ecChunk + 1, 3*ecChunk + 12345, 5 * ecChunk}

// stripesOf returns the stripes of the objects.
func stripesOf(t *testing.T, c *testcluster.Cluster, keys map[string][]byte) []proto.Stripe {
	t.Helper()
	var out []proto.Stripe
	for key := range keys {
		obj, err := c.Client().Stat(ctxT(t, 10*time.Second), "ecb", key)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range obj.Extents {
			if e.Stripe == nil {
				t.Fatalf("%s: extent %+v is not a stripe", key, e)
			}
			out = append(out, *e.Stripe)
		}
	}
	return out
}

// shardHolders maps each shard of the stripes to the running chunk
// servers whose store holds it and verifies.
func shardHolders(c *testcluster.Cluster, stripes []proto.Stripe) map[proto.ChunkID][]proto.NodeID {
	out := map[proto.ChunkID][]proto.NodeID{}
	for _, st := range stripes {
		for _, id := range st.Shards {
			for _, n := range c.ChunkServers() {
				if srv := n.Server(); srv != nil && srv.Store().Verify(uint64(id)) == nil {
					out[id] = append(out[id], n.ID)
				}
			}
		}
	}
	return out
}

// fullStripes reports whether every stripe has each of its shards on
// exactly one running server and its K+M shards on K+M distinct servers,
// or says what is wrong.
func fullStripes(c *testcluster.Cluster, stripes []proto.Stripe) error {
	holders := shardHolders(c, stripes)
	for _, st := range stripes {
		servers := map[proto.NodeID]bool{}
		for i, id := range st.Shards {
			if len(holders[id]) != 1 {
				return fmt.Errorf("shard %d (chunk %d) is on %v", i, id, holders[id])
			}
			servers[holders[id][0]] = true
		}
		if len(servers) != st.K+st.M {
			return fmt.Errorf("stripe %v is on %d servers", st.Shards, len(servers))
		}
	}
	return nil
}

func readAll(t *testing.T, cl *client.Client, bucket string, keys map[string][]byte) {
	t.Helper()
	for key, want := range keys {
		rc, err := cl.Get(ctxT(t, 30*time.Second), bucket, key)
		if err != nil {
			t.Fatalf("get %s/%s: %v", bucket, key, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%s/%s differs (%d bytes, want %d): %v", bucket, key, len(got), len(want), err)
		}
	}
}

// healthy is the status with nothing degraded, under-replicated, missing,
// corrupt or in flight.
func healthy(st proto.Status) bool {
	ch, r := st.Chunks, st.Repair
	return ch.Degraded == 0 && ch.Missing == 0 && ch.UnderReplicated == 0 && ch.Corrupt == 0 &&
		r.InflightReconstructs == 0 && r.InflightCopies == 0 && r.QueuedStripes == 0
}

// TestStripesRebuiltAfterServerLoss: a chunk server holding shards dies;
// the status shows the stripes degraded, the leader rebuilds every lost
// shard on a server holding none of its stripe (reconstruct commands),
// the status is healthy again, every stripe has six shards on six
// distinct servers, and every object reads back byte for byte. Replicated
// data beside it is copied back at the same time, for comparison.
func TestStripesRebuiltAfterServerLoss(t *testing.T) {
	c, cl := ecCluster(t, nil)
	keys := putSizes(t, cl, "ecb", append(ecSizes, ecSizes...))
	rep := putSizes(t, cl, "rep", append(ecSizes, ecSizes...))
	stripes := stripesOf(t, c, keys)
	if err := fullStripes(c, stripes); err != nil {
		t.Fatal(err)
	}
	if st := status(t, c); st.Chunks.Total < len(stripes) || st.Chunks.Degraded != 0 {
		t.Fatalf("before: %+v for %d stripes", st.Chunks, len(stripes))
	}
	// The victim: the server holding the most shards, then bytes.
	holders := shardHolders(c, stripes)
	perServer := map[proto.NodeID]int{}
	shardBytes := map[proto.NodeID]int64{}
	for id, hs := range holders {
		perServer[hs[0]]++
		n := c.ChunkServers()[0]
		for _, cn := range c.ChunkServers() {
			if cn.ID == hs[0] {
				n = cn
			}
		}
		if info, err := n.Server().Store().Stat(uint64(id)); err == nil {
			shardBytes[hs[0]] += info.Size
		}
	}
	var victim *testcluster.ChunkNode
	for _, n := range c.ChunkServers() {
		if victim == nil || perServer[n.ID] > perServer[victim.ID] ||
			perServer[n.ID] == perServer[victim.ID] && len(n.Server().Store().List()) > len(victim.Server().Store().List()) {
			victim = n
		}
	}
	lost, lostBytes := perServer[victim.ID], shardBytes[victim.ID]
	var repBytes int64 // the victim's replicas of replicated chunks
	for _, ch := range victim.Server().Store().List() {
		repBytes += ch.Size
	}
	repBytes -= lostBytes
	killed := time.Now()
	c.KillChunkServer(victim)
	c.WaitFor(30*time.Second, "the lost shards' stripes degraded", func() bool {
		return status(t, c).Chunks.Degraded > 0
	})
	noticed := time.Since(killed)
	readAll(t, cl, "ecb", keys) // degraded reads meanwhile
	var repDone, took time.Duration
	c.WaitFor(120*time.Second, "every stripe and chunk healthy again", func() bool {
		st := status(t, c)
		if repDone == 0 && st.Chunks.UnderReplicated == 0 && st.Repair.InflightCopies == 0 {
			repDone = time.Since(killed)
		}
		if took == 0 && st.Chunks.Degraded == 0 && st.Repair.InflightReconstructs == 0 && st.Repair.QueuedStripes == 0 {
			took = time.Since(killed)
		}
		return healthy(st)
	})
	st := status(t, c)
	if st.Repair.ReconstructsIssued < int64(lost) {
		t.Errorf("%d reconstructs issued for %d lost shards", st.Repair.ReconstructsIssued, lost)
	}
	if err := fullStripes(c, stripes); err != nil {
		t.Fatal(err)
	}
	readAll(t, cl, "ecb", keys)
	readAll(t, cl, "rep", rep)
	// Both repairs ran at once, from the same dead-server verdict (about
	// DeadAfter, 2 s, after the kill).
	t.Logf("lost server: %d shards (%d KiB) rebuilt, stripes full after %v (%.0f KiB/s after detection at %v, reading 4x that); %d KiB of replicas copied back, chunks whole after %v (%.0f KiB/s)",
		lost, lostBytes>>10, took.Round(time.Millisecond), float64(lostBytes>>10)/(took-noticed).Seconds(), noticed.Round(time.Millisecond),
		repBytes>>10, repDone.Round(time.Millisecond), float64(repBytes>>10)/max(repDone-noticed, time.Millisecond).Seconds())
	if scrape := scrapeMetrics(t, c.Leader().HTTPAddr); !strings.Contains(scrape, `granary_chunks{state="degraded"} 0`) {
		t.Errorf("metrics lack the degraded stripes gauge at 0")
	}
}

// TestDamagedShardsRebuilt: a shard's chunk file deleted on disk (the
// sweep notices) and a shard with a flipped byte (the scrubber notices)
// are rebuilt by reconstruct commands, and the corrupt one deleted; then
// three shards of one stripe are deleted: the status counts it missing
// and names its object, nothing rebuilds it, its object fails to read, and every other object
// reads back.
func TestDamagedShardsRebuilt(t *testing.T) {
	c, cl := ecCluster(t, func(cfg *chunkserver.Config) {
		cfg.ScrubInterval = 200 * time.Millisecond
		cfg.SweepInterval = 200 * time.Millisecond
	})
	keys := putSizes(t, cl, "ecb", ecSizes)
	stripes := stripesOf(t, c, keys)
	holders := shardHolders(c, stripes)
	node := func(id proto.NodeID) *testcluster.ChunkNode {
		for _, n := range c.ChunkServers() {
			if n.ID == id {
				return n
			}
		}
		t.Fatalf("no chunk server %s", id)
		return nil
	}
	// Two stripes with data in their shards 1 (removed) and 4 (flipped).
	var big []proto.Stripe
	for _, st := range stripes {
		if s, _ := node(holders[st.Shards[1]][0]).Server().Store().Stat(uint64(st.Shards[1])); s.Size > 200 {
			big = append(big, st)
		}
	}
	if len(big) < 3 {
		t.Fatalf("only %d stripes with data in shard 1", len(big))
	}
	removed, flipped := big[0].Shards[1], big[1].Shards[4]
	removedOn, flippedOn := node(holders[removed][0]), node(holders[flipped][0])
	removeChunk(t, removedOn.Dir, removed)
	flipByte(t, flippedOn, flipped, 100)
	start := time.Now()
	why := ""
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last seen: %s", why)
		}
	})
	c.WaitFor(60*time.Second, "the removed and the flipped shard rebuilt", func() bool {
		st := status(t, c)
		err := fullStripes(c, stripes)
		why = fmt.Sprintf("stripes: %v; status chunks %+v repair %+v", err, st.Chunks, st.Repair)
		return err == nil && healthy(st)
	})
	t.Logf("a removed and a corrupt shard rebuilt in %v", time.Since(start).Round(time.Millisecond))
	if _, err := flippedOn.Server().Store().Stat(uint64(flipped)); err == nil {
		if h := shardHolders(c, stripes)[flipped]; len(h) == 1 && h[0] == flippedOn.ID {
			t.Logf("the corrupt shard was rebuilt in place on %s", flippedOn.ID)
		} else {
			t.Errorf("the corrupt replica of chunk %d is still on %s", flipped, flippedOn.ID)
		}
	}
	readAll(t, cl, "ecb", keys)

	// Three shards of one stripe gone: more than M. The stripe is missing.
	doomed := big[2]
	var doomedKey string
	for key := range keys {
		obj, _ := c.Client().Stat(ctxT(t, 10*time.Second), "ecb", key)
		for _, e := range obj.Extents {
			if e.Chunk == doomed.Shards[0] {
				doomedKey = key
			}
		}
	}
	holders = shardHolders(c, stripes)
	for _, i := range []int{0, 2, 5} {
		id := doomed.Shards[i]
		n := node(holders[id][0])
		removeChunk(t, n.Dir, id)
	}
	// A rebuild planned while only some of the removals were reported
	// cannot succeed (only three shards exist), and fails.
	c.WaitFor(30*time.Second, "the stripe counted missing and its object named, no rebuild in flight", func() bool {
		st := status(t, c)
		return st.Chunks.Missing == 1 && st.Repair.InflightReconstructs == 0 &&
			slices.Equal(st.Repair.Unreadable, []string{"ecb/" + doomedKey})
	})
	issued := status(t, c).Repair.ReconstructsIssued
	for range 3 { // rounds come and go: nothing pretends the stripe is fine
		if err := c.Leader().Server().RepairOnce(ctxT(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
		st := status(t, c)
		if st.Chunks.Missing != 1 || st.Chunks.Degraded != 0 || st.Repair.ReconstructsIssued != issued {
			t.Fatalf("with three shards of a stripe gone: %+v, %d rebuilds issued (had %d)", st.Chunks, st.Repair.ReconstructsIssued, issued)
		}
	}
	if rc, err := cl.Get(ctxT(t, 10*time.Second), "ecb", doomedKey); err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
		if err == nil {
			t.Fatalf("%s read back with three shards of a stripe gone", doomedKey)
		}
	}
	delete(keys, doomedKey)
	readAll(t, cl, "ecb", keys)
}

// TestShardRebuildIsPacedByRepairBandwidth: a rebuild reads K shards'
// worth of bytes into its target through the same token bucket as copies
// (--repair-bandwidth), so rebuilding one 1 MiB shard of rs-4-2 at 1 MiB/s
// takes at least (4 MiB - one burst) / 1 MiB/s. Only the lower bound is
// checked: a slow machine may take longer, never less.
func TestShardRebuildIsPacedByRepairBandwidth(t *testing.T) {
	const rate = 1 << 20
	c := testcluster.Start(t, testcluster.Options{Masters: 1, ChunkServers: 7, ChunkSize: 4 << 20,
		TuneChunk: func(cfg *chunkserver.Config) {
			cfg.RepairBandwidth = rate
			cfg.SweepInterval = 100 * time.Millisecond
		}})
	cl := c.DataClient(nil)
	if err := cl.CreateBucketWith(ctxT(t, 10*time.Second), client.BucketSpec{Name: "ecb", DataPolicy: "rs-4-2"}); err != nil {
		t.Fatal(err)
	}
	keys := putSizes(t, cl, "ecb", []int64{4 << 20})
	stripes := stripesOf(t, c, keys)
	lost := stripes[0].Shards[2]
	var on *testcluster.ChunkNode
	for _, n := range c.ChunkServers() {
		if _, err := n.Server().Store().Stat(uint64(lost)); err == nil {
			on = n
		}
	}
	start := time.Now()
	removeChunk(t, on.Dir, lost)
	c.WaitFor(60*time.Second, "the shard rebuilt", func() bool { return fullStripes(c, stripes) == nil })
	took := time.Since(start)
	floor := time.Duration(float64(4<<20-256<<10) / rate * float64(time.Second))
	t.Logf("a 1 MiB shard rebuilt at %d MiB/s of repair bandwidth in %v (at least %v)", rate>>20, took.Round(time.Millisecond), floor)
	if took < floor {
		t.Fatalf("rebuilt in %v: faster than the repair bandwidth allows (%v)", took, floor)
	}
	readAll(t, cl, "ecb", keys)
}

// TestBalancingMovesStripeShards: a new, empty server takes shards of
// erasure-coded stripes from full ones, and no stripe ever has two shards
// on one server: once the moves settle every stripe is full on K+M
// distinct servers and every object reads back.
func TestBalancingMovesStripeShards(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{
		Masters: 1, ChunkServers: 3, Racks: 2, ChunkSize: ecChunk, Replication: 1,
		Tune:      func(cfg *master.Config) { cfg.BalanceThreshold = 0.02 },
		TuneChunk: func(cfg *chunkserver.Config) { cfg.CapacityLimit = 8 << 20 },
	})
	cl := c.DataClient(nil)
	if err := cl.CreateBucketWith(ctxT(t, 10*time.Second), client.BucketSpec{Name: "ecb", DataPolicy: "rs-2-1"}); err != nil {
		t.Fatal(err)
	}
	sizes := make([]int64, 16)
	for i := range sizes {
		sizes[i] = ecChunk // one stripe of three 128 KiB shards each
	}
	keys := putSizes(t, cl, "ecb", sizes)
	stripes := stripesOf(t, c, keys)
	fresh := c.AddChunkServer("r2")
	c.WaitFor(90*time.Second, "shards moved to the new server", func() bool {
		return len(fresh.Server().Store().List()) >= 4
	})
	why := "no status yet"
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last: %s", why)
		}
	})
	c.WaitFor(60*time.Second, "moves settled with every stripe full", func() bool {
		st := status(t, c)
		if st.Repair.InflightCopies != 0 || st.Repair.InflightDeletes != 0 || st.Chunks.Degraded != 0 {
			why = fmt.Sprintf("in flight: %d copies, %d deletes; %d stripes degraded", st.Repair.InflightCopies, st.Repair.InflightDeletes, st.Chunks.Degraded)
			return false
		}
		if err := fullStripes(c, stripes); err != nil {
			why = err.Error()
			return false
		}
		return true
	})
	t.Logf("the new server holds %d of %d shards", len(fresh.Server().Store().List()), 3*len(stripes))
	readAll(t, cl, "ecb", keys)
}
