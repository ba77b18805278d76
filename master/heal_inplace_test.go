package master_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/granary-store/granary/internal/proto"
	"io"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/chunkserver/disk"
	"github.com/granary-store/granary/master"
)

// On three chunk servers with three replicas (the default of granary
// server) every server holds a copy, so a damaged replica has nowhere else
// to go: a corrupt one is deleted first and a good copy written back onto
// the same server; a lost file (found by the sweep, no read) frees its
// server, which takes the copy at once.
func TestDamagedReplicasRepairedInPlaceOnThreeServers(t *testing.T) {
	c, cl := healCluster(t, 1, 3, nil, func(cfg *chunkserver.Config) {
		cfg.ScrubInterval = 200 * time.Millisecond
		cfg.SweepInterval = 200 * time.Millisecond
	})
	keys := putMany(t, cl, 4)
	chunkOf := func(key string) proto.ChunkID {
		st, err := cl.Stat(ctxT(t, 10*time.Second), "heal", key)
		if err != nil {
			t.Fatal(err)
		}
		return st.Extents[0].Chunk
	}
	flipped, removed := chunkOf("obj0001"), chunkOf("obj0002")
	servers := c.ChunkServers()
	flipByte(t, servers[0], flipped, 100)
	removeChunk(t, servers[1].Dir, removed)
	start := time.Now()
	c.WaitFor(60*time.Second, "three good copies of both damaged chunks again", func() bool {
		copies, _ := replicaCounts(t, c, cl, map[string][]byte{"obj0001": nil, "obj0002": nil})
		return copies[flipped] == 3 && copies[removed] == 3
	})
	t.Logf("both replicas repaired in place in %v", time.Since(start).Round(time.Millisecond))
	c.WaitFor(30*time.Second, "the status healthy", func() bool {
		st := status(t, c)
		return st.Chunks.UnderReplicated == 0 && st.Chunks.Corrupt == 0 && st.Chunks.Missing == 0
	})
	readBack(t, cl, keys)
}

// Objects deleted while a chunk server is down, and acknowledged gone by a
// later leader that never heard of that server's replicas, still get their
// space back when the server returns: its full report names chunks that
// were deleted for good, and the leader deletes them without waiting for
// the orphan grace.
func TestChunksDeletedWhileTheirServerWasDownAreCollected(t *testing.T) {
	c, cl := healCluster(t, 1, 3, func(cfg *master.Config) {
		cfg.GCDelay = 100 * time.Millisecond
		cfg.OrphanGrace = time.Hour // so only the tombstone can explain the collection
	}, nil)
	keys := putMany(t, cl, 6)
	away := c.ChunkServers()[2]
	var gone []proto.ChunkID
	for _, k := range []string{"obj0000", "obj0001", "obj0002"} {
		st, err := cl.Stat(ctxT(t, 10*time.Second), "heal", k)
		if err != nil {
			t.Fatal(err)
		}
		gone = append(gone, st.Extents[0].Chunk)
	}
	c.KillChunkServer(away)
	for _, k := range []string{"obj0000", "obj0001", "obj0002"} {
		if err := cl.Delete(ctxT(t, 10*time.Second), "heal", k); err != nil {
			t.Fatal(err)
		}
		delete(keys, k)
	}
	// A new leader knows nothing of the away server's replicas: it deletes
	// the chunks from the servers it hears from and records them gone.
	m := c.Leader()
	c.Kill(m)
	c.Restart(m)
	c.WaitFor(60*time.Second, "the deletions acknowledged", func() bool {
		st := status(t, c)
		return st.Chunks.PendingDeletes == 0 && st.Chunks.Total == 3
	})
	c.RestartChunkServer(away)
	c.WaitFor(60*time.Second, "the returning server's deleted chunks removed", func() bool {
		for _, ch := range gone {
			if _, err := away.Server().Store().Stat(uint64(ch)); !errors.Is(err, disk.ErrNotFound) {
				return false
			}
		}
		return true
	})
	st := status(t, c)
	if st.Repair.OrphansFound != 0 {
		t.Errorf("orphans found %d: tombstoned chunks are not orphans", st.Repair.OrphansFound)
	}
	readBack(t, cl, keys)
}

// A new leader learns where replicas are only from the chunk servers'
// reports. Reads that arrive before those are in get a retryable "not
// ready" answer and the client asks again, so a leader kill under read
// load fails no read. Heartbeats are a second apart here, so the window
// is wide.
func TestLeaderKillUnderReadLoadFailsNoRead(t *testing.T) {
	c, cl := healCluster(t, 3, 3, func(cfg *master.Config) {
		cfg.HeartbeatInterval, cfg.DeadAfter = time.Second, 5*time.Second
	}, nil)
	keys := putMany(t, cl, 8)
	names := slices.Sorted(maps.Keys(keys))
	var (
		reads, afterKill atomic.Int64
		killed           atomic.Bool
		mu               sync.Mutex
		failures         []error
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 3 {
		wg.Add(1)
		go func() { // owned by the test: ends when stop closes
			defer wg.Done()
			for i := r; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := names[i%len(names)]
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				rc, err := cl.Get(ctx, "heal", key)
				var got []byte
				if err == nil {
					got, err = io.ReadAll(rc)
					rc.Close()
				}
				cancel()
				if err == nil && !bytes.Equal(got, keys[key]) {
					err = fmt.Errorf("%s: wrong bytes", key)
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, fmt.Errorf("read %s: %w", key, err))
					mu.Unlock()
					continue
				}
				reads.Add(1)
				if killed.Load() {
					afterKill.Add(1)
				}
			}
		}()
	}
	c.WaitFor(10*time.Second, "reads under way", func() bool { return reads.Load() > 20 })
	old := c.Leader()
	c.Kill(old)
	killed.Store(true)
	c.WaitFor(30*time.Second, "a new leader serving reads", func() bool {
		l := c.Leader()
		return l != nil && l != old && afterKill.Load() > 100
	})
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d reads failed across the leader change (of %d); first: %v", len(failures), reads.Load(), failures[0])
	}
	t.Logf("%d reads, %d after the leader kill, none failed", reads.Load(), afterKill.Load())
}
