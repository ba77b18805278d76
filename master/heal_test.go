package master_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

func healCluster(t *testing.T, masters, chunkServers int, tune func(*master.Config), tuneChunk func(*chunkserver.Config)) (*testcluster.Cluster, *client.Client) {
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
func replicaCounts(t *testing.T, c *testcluster.Cluster, cl *client.Client, keys map[string][]byte) (copies, racks map[proto.ChunkID]int) {
	t.Helper()
	copies, racks = map[proto.ChunkID]int{}, map[proto.ChunkID]int{}
	for key := range keys {
		st, err := cl.Stat(ctxT(t, 10*time.Second), "heal", key)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range st.Extents {
			seen := map[string]bool{}
			for _, n := range c.ChunkServers() {
				if srv := n.Server(); srv != nil && srv.Store().Verify(uint64(e.Chunk)) == nil {
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
	if r := status(t, c).Repair; r.BytesPerSecond <= 0 || r.QueuedBytes != 0 || r.ETASeconds != 0 {
		t.Errorf("after the repair: %d B/s over the last 10 s (want > 0), %d bytes queued, ETA %d s (want 0, 0)",
			r.BytesPerSecond, r.QueuedBytes, r.ETASeconds)
	}
	t.Logf("repaired %d replicas (%d KiB) in %v including %v of dead-after: %.1f KiB/s",
		lost, lostBytes>>10, took, 2*time.Second, float64(lostBytes>>10)/took.Seconds())
	copies, racks := replicaCounts(t, c, cl, keys)
	for ch, n := range copies {
		if n != 3 || racks[ch] < 2 {
			t.Errorf("chunk %d has %d live replicas on %d racks, want 3 on 2", ch, n, racks[ch])
		}
	}
	readBack(t, cl, keys)
	scrape := scrapeMetrics(t, c.Leader().HTTPAddr)
	for _, want := range []string{`granary_chunks{state="under_replicated"} 0`, `granary_chunkservers{state="dead"} 1`, "granary_repair_copies_done_total ",
		"granary_repair_bytes_per_second ", "granary_repair_eta_seconds 0", "granary_repair_queued_bytes 0"} {
		if !strings.Contains(scrape, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

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

func TestScrubberFindsAndReplacesAFlippedByte(t *testing.T) {
	c, cl := healCluster(t, 1, 4, nil, func(cfg *chunkserver.Config) {
		cfg.ScrubInterval = 200 * time.Millisecond
	})
	keys := putMany(t, cl, 5)
	st, err := cl.Stat(ctxT(t, 10*time.Second), "heal", "obj0003")
	if err != nil {
		t.Fatal(err)
	}
	chunk := st.Extents[0].Chunk
	victim := holderOf(t, c, chunk)
	flipByte(t, victim, chunk, 100)
	// Every scrubber reports its passes in the status.
	c.WaitFor(30*time.Second, "every chunk server's scrubber finished a pass", func() bool {
		st := status(t, c)
		for _, cs := range st.ChunkServers {
			if cs.LastFullScrub.IsZero() || cs.ScrubProgress < 0 || cs.ScrubProgress > 1 {
				return false
			}
		}
		return len(st.ChunkServers) == 4
	})
	// No client reads it: the scrubber must find it, the master replace it
	// from a good copy and then delete the bad one.
	c.WaitFor(30*time.Second, "the corrupt replica replaced", func() bool {
		copies, _ := replicaCounts(t, c, cl, map[string][]byte{"obj0003": nil})
		_, stillThere := victim.Server().Store().Stat(uint64(chunk))
		return copies[chunk] == 3 && stillThere != nil
	})
	readBack(t, cl, keys)
}

// A chunk file deleted on disk while its server runs is noticed by the
// scrubber or the sweep (no client reads it) and re-created: the server
// reports it removed, so it may take the new copy itself.
func TestScrubberFindsADeletedChunkFile(t *testing.T) {
	c, cl := healCluster(t, 1, 4, nil, func(cfg *chunkserver.Config) {
		cfg.ScrubInterval = 200 * time.Millisecond
	})
	keys := putMany(t, cl, 5)
	st, err := cl.Stat(ctxT(t, 10*time.Second), "heal", "obj0002")
	if err != nil {
		t.Fatal(err)
	}
	chunk := st.Extents[0].Chunk
	victim := holderOf(t, c, chunk)
	removeChunk(t, victim.Dir, chunk)
	c.WaitFor(30*time.Second, "the lost replica re-created", func() bool {
		copies, _ := replicaCounts(t, c, cl, map[string][]byte{"obj0002": nil})
		return copies[chunk] == 3
	})
	readBack(t, cl, keys)
}

// holderOf returns a chunk server that holds chunk.
func holderOf(t *testing.T, c *testcluster.Cluster, chunk proto.ChunkID) *testcluster.ChunkNode {
	t.Helper()
	for _, n := range c.ChunkServers() {
		if _, err := n.Server().Store().Stat(uint64(chunk)); err == nil {
			return n
		}
	}
	t.Fatalf("no chunk server holds chunk %d", chunk)
	return nil
}

func flipByte(t *testing.T, n *testcluster.ChunkNode, chunk proto.ChunkID, off int64) {
	t.Helper()
	path, data := chunkData(t, n.Dir, chunk)
	f, err := osOpenRW(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	f.ReadAt(b[:], data+off)
	b[0] ^= 0x80
	f.WriteAt(b[:], data+off)
}

func TestGarbageCollection(t *testing.T) {
	c, cl := healCluster(t, 1, 3, func(cfg *master.Config) { cfg.OrphanGrace, cfg.GCDelay = time.Second, time.Second }, nil)
	ctx := ctxT(t, 60*time.Second)
	keys := putMany(t, cl, 6)
	var dead []proto.ChunkID
	for _, k := range []string{"obj0000", "obj0001"} { // deleted
		st, _ := cl.Stat(ctx, "heal", k)
		dead = append(dead, st.Extents[0].Chunk)
		if err := cl.Delete(ctx, "heal", k); err != nil {
			t.Fatal(err)
		}
		delete(keys, k)
	}
	st, _ := cl.Stat(ctx, "heal", "obj0002") // overwritten
	dead = append(dead, st.Extents[0].Chunk)
	keys["obj0002"] = bytes.Repeat([]byte("new"), 9000)
	if _, err := cl.Put(ctx, "heal", "obj0002", bytes.NewReader(keys["obj0002"]), -1, nil); err != nil {
		t.Fatal(err)
	}
	// An aborted write: a chunk written through a pipeline and never
	// committed (the client died before the commit).
	orphan := writeOrphan(t, c)
	dead = append(dead, orphan)
	c.WaitFor(30*time.Second, "no chunk files of deleted, overwritten or aborted data", func() bool {
		for _, n := range c.ChunkServers() {
			for _, id := range dead {
				if _, err := n.Server().Store().Stat(uint64(id)); err == nil {
					return false
				}
			}
		}
		return status(t, c).Chunks.PendingDeletes == 0
	})
	readBack(t, cl, keys)
	copies, _ := replicaCounts(t, c, cl, keys)
	for ch, n := range copies {
		if n != 3 {
			t.Errorf("live chunk %d has %d replicas after GC", ch, n)
		}
	}
}

// writeOrphan allocates a chunk and writes it to three servers without
// committing any object.
func writeOrphan(t *testing.T, c *testcluster.Cluster) proto.ChunkID {
	t.Helper()
	ctx := ctxT(t, 10*time.Second)
	chunks, err := c.Client().Allocate(ctx, proto.AllocateRequest{Count: 1, Replication: 3, Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	ct := chunks[0]
	req, _ := httpNewPut(ctx, ct, []byte("orphaned!!"))
	resp, err := httpDo(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("orphan write: %v %v", resp, err)
	}
	resp.Body.Close()
	return ct.ID
}

func TestSlowWriterIsNotCollected(t *testing.T) {
	c, cl := healCluster(t, 1, 3, func(cfg *master.Config) { cfg.OrphanGrace = time.Second }, nil)
	_ = c
	data := bytes.Repeat([]byte("slow"), 3*(64<<10)/4+100) // four chunks
	// The source stalls 3 s (three grace periods) after each chunk.
	src := &stallReader{r: bytes.NewReader(data), every: 64 << 10, pause: 3 * time.Second}
	if _, err := cl.Put(ctxT(t, 60*time.Second), "heal", "slow", src, -1, nil); err != nil {
		t.Fatalf("slow put: %v", err)
	}
	readBack(t, cl, map[string][]byte{"slow": data})
}

type stallReader struct {
	r     io.Reader
	every int
	pause time.Duration
	n     int
}

func (s *stallReader) Read(p []byte) (int, error) {
	if s.n > 0 && s.n%s.every == 0 {
		time.Sleep(s.pause) // a slow source, not a wait on the system under test
	}
	if rest := s.every - s.n%s.every; len(p) > rest {
		p = p[:rest]
	}
	n, err := s.r.Read(p)
	s.n += n
	return n, err
}

func TestLeaderFailoverDuringRepair(t *testing.T) {
	c, cl := healCluster(t, 3, 4, func(cfg *master.Config) {
		cfg.MaxRepairPerServer = 1 // slow repair down so the failover lands mid-way
		cfg.SafeModeTimeout = 20 * time.Second
	}, nil)
	keys := putMany(t, cl, 120)
	victim := c.ChunkServers()[0]
	lost := len(victim.Server().Store().List())
	c.KillChunkServer(victim)
	c.WaitFor(30*time.Second, "repair under way", func() bool {
		st := status(t, c)
		return st.Repair.CopiesDone > 0 && st.Chunks.UnderReplicated > 0
	})
	old := c.Leader()
	c.Kill(old)
	newLeader := c.Leader()
	// The new leader starts in safe mode: it issues nothing until the live
	// chunk servers have sent full reports; the dead one is waited for only
	// during the first dead-after period.
	st := status(t, c)
	t.Logf("new leader %s: safe mode %v (%s)", newLeader.ID, st.SafeMode, st.Repair.SafeModeReason)
	if st.Repair.CopiesIssued != 0 && st.SafeMode {
		t.Fatal("copies issued in safe mode")
	}
	c.WaitFor(90*time.Second, "repair finished under the new leader", func() bool {
		st := status(t, c)
		return !st.SafeMode && st.Chunks.UnderReplicated == 0 && st.Chunks.Missing == 0 && st.Repair.InflightCopies == 0
	})
	var copies int64
	for _, n := range c.ChunkServers() {
		if srv := n.Server(); srv != nil {
			copies += srv.CopiesDone()
		}
	}
	t.Logf("%d replicas lost, %d copies made across the failover", lost, copies)
	if copies > int64(lost)+int64(lost)/4+4 {
		t.Errorf("replication storm: %d copies for %d lost replicas", copies, lost)
	}
	readBack(t, cl, keys)
}

func TestBadHeartbeats(t *testing.T) {
	c, cl := healCluster(t, 1, 3, func(cfg *master.Config) { cfg.OrphanGrace, cfg.GCDelay = time.Second, time.Second }, nil)
	keys := putMany(t, cl, 3)
	mc := c.Client()
	ctx := ctxT(t, 20*time.Second)
	// Unknown server: told to register, nothing recorded.
	r, err := mc.Heartbeat(ctx, proto.HeartbeatRequest{ID: "ghost", Full: true, Report: []proto.ChunkID{1, 2}})
	if err != nil || r.Registered {
		t.Fatalf("heartbeat from an unknown server: %+v %v", r, err)
	}
	// Malformed counters are refused.
	if _, err := mc.Heartbeat(ctx, proto.HeartbeatRequest{ID: "cs1", UsedBytes: -5}); proto.CodeOf(err) != proto.CodeBadRequest {
		t.Fatalf("negative usage: %v", err)
	}
	// A report naming a chunk never allocated, twice over, from a real
	// server: it counts once and is collected as garbage, while the real
	// chunks stay.
	cs1 := c.ChunkServers()[0]
	real := cs1.Server().Store().List()
	report := []proto.ChunkID{1 << 40, 1 << 40}
	for _, ch := range real {
		report = append(report, proto.ChunkID(ch.ID), proto.ChunkID(ch.ID)) // the chunk store's own id type
	}
	if _, err := mc.Heartbeat(ctx, proto.HeartbeatRequest{ID: cs1.ID, Full: true, Report: report, CapacityBytes: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(20*time.Second, "the bogus chunk collected and counts right", func() bool {
		st := status(t, c)
		return st.Repair.OrphansFound >= 1 && st.Chunks.PendingDeletes == 0 && st.Chunks.OverReplicated == 0
	})
	copies, _ := replicaCounts(t, c, cl, keys)
	for ch, n := range copies {
		if n != 3 {
			t.Errorf("chunk %d has %d replicas", ch, n)
		}
	}
}

// redundancyWatch checks, every few milliseconds until stopped, that every
// chunk of the objects is held by at least want running servers. It
// returns the lowest count seen.
func redundancyWatch(t *testing.T, c *testcluster.Cluster, cl *client.Client, keys map[string][]byte, want int) (stop func() int) {
	t.Helper()
	var chunks []proto.ChunkID
	for key := range keys {
		st, err := cl.Stat(ctxT(t, 10*time.Second), "heal", key)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range st.Extents {
			chunks = append(chunks, e.Chunk)
		}
	}
	done, result := make(chan struct{}), make(chan int, 1)
	go func() {
		low := 1 << 30
		for {
			for _, ch := range chunks {
				n := 0
				for _, node := range c.ChunkServers() {
					if srv := node.Server(); srv != nil {
						if _, err := srv.Store().Stat(uint64(ch)); err == nil {
							n++
						}
					}
				}
				low = min(low, n)
			}
			select {
			case <-done:
				result <- low
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() int {
		close(done)
		low := <-result
		if low < want {
			t.Errorf("a chunk dropped to %d replicas during the move, want at least %d", low, want)
		}
		return low
	}
}

func TestDecommissionDrainsWithoutLosingRedundancy(t *testing.T) {
	c, cl := healCluster(t, 1, 5, nil, nil)
	keys := putMany(t, cl, 60)
	victim := c.ChunkServers()[2]
	held := len(victim.Server().Store().List())
	stop := redundancyWatch(t, c, cl, keys, 3)
	if err := c.Client().Decommission(ctxT(t, 10*time.Second), victim.ID); err != nil {
		t.Fatal(err)
	}
	c.WaitFor(60*time.Second, "the server decommissioned", func() bool {
		for _, cs := range status(t, c).ChunkServers {
			if cs.ID == victim.ID {
				return cs.State == "decommissioned"
			}
		}
		return false
	})
	stop()
	t.Logf("drained %d chunks from %s", held, victim.ID)
	r, err := c.Client().Heartbeat(ctxT(t, 5*time.Second), proto.HeartbeatRequest{ID: victim.ID, Full: true})
	if err != nil || r.Registered || len(r.Commands) > 0 {
		t.Errorf("heartbeat from a decommissioned server accepted: %+v %v", r, err)
	}
	// Every chunk now has three replicas without the drained server.
	c.KillChunkServer(victim)
	copies, _ := replicaCounts(t, c, cl, keys)
	for ch, n := range copies {
		if n < 3 {
			t.Errorf("chunk %d has %d replicas without the drained server", ch, n)
		}
	}
	readBack(t, cl, keys)
	if st := status(t, c); st.Chunks.UnderReplicated != 0 || st.Chunks.Missing != 0 {
		t.Errorf("after the drain: %+v", st.Chunks)
	}
}

func TestBalancingFillsAnEmptyServer(t *testing.T) {
	// Each server offers 8 MiB, so 60 chunks of 21 KB make ratios that move.
	c, cl := healCluster(t, 1, 3, func(cfg *master.Config) { cfg.BalanceThreshold = 0.02 },
		func(cfg *chunkserver.Config) { cfg.CapacityLimit = 8 << 20 })
	keys := putMany(t, cl, 60)
	stop := redundancyWatch(t, c, cl, keys, 3)
	fresh := c.AddChunkServer("r2")
	c.WaitFor(90*time.Second, "chunks moved to the new server", func() bool {
		return len(fresh.Server().Store().List()) >= 30
	})
	c.WaitFor(30*time.Second, "moves settled", func() bool {
		st := status(t, c)
		return st.Repair.InflightCopies == 0 && st.Repair.InflightDeletes == 0 && st.Chunks.OverReplicated == 0
	})
	stop()
	copies, racks := replicaCounts(t, c, cl, keys)
	for ch, n := range copies {
		if n != 3 || racks[ch] < 2 {
			t.Errorf("chunk %d: %d replicas on %d racks after balancing", ch, n, racks[ch])
		}
	}
	t.Logf("new server holds %d of %d chunks", len(fresh.Server().Store().List()), len(copies))
	readBack(t, cl, keys)
}

// TestRepairStartsWhenAServerDies: the repair of a dead server's chunks
// starts as soon as its heartbeats are overdue, not at the next repair
// tick. With a one-minute repair interval, the first copies are issued
// right after the 20 s dead-after, not a minute later. (The writes'
// reports cause a few rounds, a tenth of the interval apart, that all run
// while the victim still counts as alive.)
func TestRepairStartsWhenAServerDies(t *testing.T) {
	c, cl := healCluster(t, 1, 4, func(cfg *master.Config) { cfg.RepairInterval, cfg.DeadAfter = time.Minute, 20*time.Second }, nil)
	putMany(t, cl, 20)
	victim := c.ChunkServers()[1]
	if len(victim.Server().Store().List()) == 0 {
		t.Fatal("the victim holds no chunk")
	}
	before := status(t, c).Repair.CopiesIssued
	killed := time.Now()
	c.KillChunkServer(victim)
	c.WaitFor(40*time.Second, "repair copies issued after the death", func() bool {
		return status(t, c).Repair.CopiesIssued > before
	})
	t.Logf("first repair copies issued %v after the kill", time.Since(killed).Round(time.Millisecond))
}
