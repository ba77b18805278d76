package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/chunkserver/disk"

	"github.com/granary-store/granary/gateway"
	"github.com/granary-store/granary/internal/masterclient"
	"github.com/granary-store/granary/internal/pki"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// inProcess injects faults into an in-process cluster through its test
// hooks: Raft links cut (partition), a chunk server's data plane and
// heartbeats stalled with its sockets open (pause), and stop/restart.
type inProcess struct {
	c  *testcluster.Cluster
	mc *masterclient.Client // built once: each has its own connection pool
}

func (p *inProcess) Masters() int      { return len(p.c.Nodes()) }
func (p *inProcess) ChunkServers() int { return len(p.c.ChunkServers()) }

func (p *inProcess) Replicas() (*masterclient.Client, []string) {
	return p.mc, p.c.Addrs()
}

func (p *inProcess) Status(ctx context.Context) (proto.Status, error) {
	return p.mc.Status(ctx)
}

func (p *inProcess) Kinds() []string {
	return []string{"partition-leader", "kill-leader", "pause-chunkserver", "kill-chunkserver",
		"delete-chunk-file", "flip-chunk-bytes", "lose-data-dir", "fill-disk"}
}

func (p *inProcess) Fault(ctx context.Context, kind string, rng *rand.Rand) (Fault, error) {
	cs := p.c.ChunkServers()[rng.IntN(p.ChunkServers())]
	switch kind {
	case "partition-leader":
		n := p.c.Leader()
		return Fault{Name: fmt.Sprintf("partition %s (leader)", n.ID),
			Inject: func(context.Context) error { p.c.Isolate(n); return nil },
			Heal:   func(context.Context) error { p.c.Heal(); return nil }}, nil
	case "kill-leader":
		n := p.c.Leader()
		return Fault{Name: fmt.Sprintf("stop %s (leader)", n.ID),
			Inject: func(context.Context) error { p.c.Kill(n); return nil },
			Heal:   func(context.Context) error { p.c.Restart(n); return nil }}, nil
	case "pause-chunkserver":
		srv := cs.Server()
		if srv == nil {
			return Fault{}, fmt.Errorf("%s is not running", cs.ID)
		}
		return Fault{Name: fmt.Sprintf("pause %s", cs.ID),
			Inject: func(context.Context) error { srv.SetPaused(true); return nil },
			Heal:   func(context.Context) error { srv.SetPaused(false); return nil }}, nil
	case "kill-chunkserver":
		return Fault{Name: fmt.Sprintf("stop %s", cs.ID),
			Inject: func(context.Context) error { p.c.KillChunkServer(cs); return nil },
			Heal:   func(context.Context) error { p.c.RestartChunkServer(cs); return nil }}, nil
	case "delete-chunk-file", "flip-chunk-bytes":
		return p.damage(kind, cs, rng)
	case "lose-data-dir":
		return p.loseDir(cs)
	case "fill-disk":
		srv := cs.Server()
		if srv == nil {
			return Fault{}, fmt.Errorf("%s is not running", cs.ID)
		}
		// The server's disk is full: its capacity is cut to what it holds,
		// so every new chunk there is refused (no space) and writers go
		// elsewhere; repair copies that would need room there go elsewhere
		// too. Heal frees the disk again.
		return Fault{Name: fmt.Sprintf("fill the disk of %s", cs.ID),
			Inject: func(context.Context) error {
				used, _, err := srv.Store().Usage()
				if err != nil {
					return err
				}
				srv.Store().SetCapacity(max(used, 1))
				return nil
			},
			Heal: func(context.Context) error { srv.Store().SetCapacity(0); return nil }}, nil
	}
	return Fault{}, fmt.Errorf("unknown fault %q", kind)
}

// damage deletes (disk.Remove: its chunk file, or its record in a volume),
// or flips a byte of, a random chunk on cs behind the server's back.
// Nothing heals it but the cluster: the sweep finds a missing chunk file,
// the scrubber (or a read) a voided record or a flipped byte, and the
// master re-creates the replica, on the same server if need be. Heal waits
// until the damaged replica is gone from cs or good again, so the health
// check that follows cannot pass before the damage was even seen.
func (p *inProcess) damage(kind string, cs *testcluster.ChunkNode, rng *rand.Rand) (Fault, error) {
	srv := cs.Server()
	if srv == nil {
		return Fault{}, fmt.Errorf("%s is not running", cs.ID)
	}
	list := srv.Store().List()
	if len(list) == 0 {
		return Fault{Name: fmt.Sprintf("%s on %s (no chunks: nothing to damage)", kind, cs.ID),
			Inject: func(context.Context) error { return nil }, Heal: func(context.Context) error { return nil }}, nil
	}
	chunk := list[rng.IntN(len(list))].ID
	inject := func(context.Context) error {
		if kind == "delete-chunk-file" {
			// Its chunk file deleted, or its record in a volume voided.
			return disk.Remove(cs.Dir, uint64(chunk))
		}
		path, at, size, err := srv.Store().Locate(uint64(chunk))
		if err != nil {
			return err
		}
		if size > 100 {
			at += 100 // a data byte: the read of its block fails
		} else {
			at-- // the last checksum byte: the open fails
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		var b [1]byte
		if _, err := f.ReadAt(b[:], at); err != nil {
			return err
		}
		b[0] ^= 0x40
		_, err = f.WriteAt(b[:], at)
		return err
	}
	heal := func(ctx context.Context) error {
		for {
			err := srv.Store().Verify(chunk)
			if err == nil || errors.Is(err, disk.ErrNotFound) && !errors.Is(err, disk.ErrLost) {
				return nil // re-created good, or deleted as bad and not (yet) back
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("chunk %d on %s still damaged: %v", chunk, cs.ID, err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return Fault{Name: fmt.Sprintf("%s: chunk %d on %s", kind, chunk, cs.ID), Inject: inject, Heal: heal}, nil
}

// loseDir takes cs's data directory away (renamed, as a lost disk or
// mount would vanish): the sweep marks it failed and reports its chunks
// lost, and the cluster re-creates them elsewhere. Heal puts the directory
// back and restarts the server, as an operator replacing the disk would;
// its old replicas then come back as extra copies and are trimmed.
func (p *inProcess) loseDir(cs *testcluster.ChunkNode) (Fault, error) {
	chunks := filepath.Join(cs.Dir, "chunks")
	away := chunks + ".lost"
	return Fault{Name: fmt.Sprintf("lose the data dir of %s", cs.ID),
		Inject: func(context.Context) error { return os.Rename(chunks, away) },
		Heal: func(ctx context.Context) error {
			for srv := cs.Server(); srv != nil && len(srv.Store().FailedDirs()) == 0; {
				select { // wait for the server to notice
				case <-ctx.Done():
					return fmt.Errorf("%s never reported its data dir failed", cs.ID)
				case <-time.After(100 * time.Millisecond):
				}
			}
			p.c.KillChunkServer(cs)
			if err := os.Rename(away, chunks); err != nil {
				return err
			}
			p.c.RestartChunkServer(cs)
			return nil
		}}, nil
}

// TestChaosInProcess runs the fault rounds against an in-process cluster
// (3 masters, 4 chunk servers in 2 racks, an S3 gateway) with the same
// workload and checks as the Docker suite, so the fault logic is exercised
// on every run without containers. Like the compose cluster, it runs
// every hop with mutual TLS and S3 over HTTPS. Half its writes are
// erasure-coded (STANDARD_IA mapped to rs-2-1), so stripes, degraded
// reads and shard rebuilds go through every fault too.
func TestChaosInProcess(t *testing.T) {
	s := seed(t)
	t.Logf("chaos seed %d (replay with CHAOS_SEED=%d)", s, s)
	c := testcluster.Start(t, testcluster.Options{Masters: 3, ChunkServers: 4, Racks: 2, ChunkSize: 256 << 10, TLS: true,
		Tune: func(cfg *master.Config) {
			cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			// Half the writes ask for STANDARD_IA: erasure-coded stripes
			// beside the replicated objects, under the same checks.
			cfg.StorageClasses = map[string]string{"STANDARD_IA": "rs-2-1"}
			// The run ends by deleting everything and waiting for every
			// server to hold nothing: chunks of failed writes are orphans
			// collected after this grace (a live writer renews its chunks).
			cfg.OrphanGrace = 5 * time.Second
		},
		TuneChunk: func(cfg *chunkserver.Config) { // find damage within the recovery bound
			cfg.ScrubInterval, cfg.SweepInterval = time.Second, 300*time.Millisecond
		}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const access, secret = "GRCHAOSINPROCESS0001", "chaos-in-process-secret-key-0123456789"
	cfg := gateway.DefaultConfig()
	cfg.Masters, cfg.ClusterSecret, cfg.Listener = c.Addrs(), testcluster.Secret, ln
	cfg.RootAccessKey, cfg.RootSecretKey = access, secret
	cfg.ClusterTLS = c.ClientTLS()
	gwFiles := c.TLSFiles("gateway")
	s3Cert, err := pki.NewReloader(gwFiles.Cert, gwFiles.Key, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS = s3Cert.ServerConfig()
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	mc := newS3(t, ctx, gw.Addr(), c.ClientTLS(), access, secret, "chaos")
	w := &Workload{S3: mc, Bucket: "chaos", History: NewHistory(), Keys: 8, Workers: 3, OnceWorkers: 1,
		Seed: s, OpTimeout: 10 * time.Second, MaxSize: 96 << 10, StorageClasses: []string{"", "STANDARD_IA"}}
	target := &inProcess{c: c, mc: c.Client()}
	rep := Run(ctx, "in-process", target, w, Options{
		Seed: s, Rounds: envInt(t, "CHAOS_ROUNDS", len(target.Kinds())),
		Steady: time.Second, Hold: 3 * time.Second, RecoveryBound: 60 * time.Second,
		CheckTimeout: time.Minute, Log: t.Logf, NoFailedReads: map[string]bool{"kill-leader": true},
	})
	finish(t, rep, "in-process")
	striped, replicated := countLayouts(t, c, "chaos")
	t.Logf("objects in chunks at the end: %d erasure-coded, %d replicated", striped, replicated)
	if striped == 0 || replicated == 0 {
		t.Fatalf("the run should end with both layouts: %d erasure-coded, %d replicated", striped, replicated)
	}
	if why := spaceReturned(ctx, target, w, time.Minute); why != "" {
		t.Fatalf("after deleting every object, the space did not come back: %s", why)
	}
}

// countLayouts counts the objects of bucket stored as stripes and as
// replicated chunks.
func countLayouts(t *testing.T, c *testcluster.Cluster, bucket string) (striped, replicated int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := c.Client().List(ctx, proto.ListRequest{Bucket: bucket, MaxKeys: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range res.Objects {
		loc, err := c.Client().Locate(ctx, bucket, o.Key)
		if err != nil || len(loc.Object.Extents) == 0 {
			continue
		}
		if loc.Object.Extents[0].Stripe != nil {
			striped++
		} else {
			replicated++
		}
	}
	return striped, replicated
}
