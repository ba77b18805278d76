package mount_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/mount"
)

// env is a cluster, a client and a mounted bucket.
type env struct {
	c   *testcluster.Cluster
	cl  *client.Client
	srv *mount.Server
	dir string
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// testLogger sends logs to t.Log (shown on failure).
type tlogWriter struct{ t testing.TB }

func (w tlogWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// startMount starts a cluster with a bucket and mounts it; tune adjusts the
// configuration. Everything is undone in t.Cleanup, unmount first.
func startMount(t testing.TB, tune func(*mount.Config)) *env {
	t.Helper()
	return startMountOn(t, testcluster.Options{Masters: 1, ChunkServers: 2, ChunkSize: 1 << 20, Replication: 2}, tune)
}

// startMountOn is startMount on a cluster shaped by opts.
func startMountOn(t testing.TB, opts testcluster.Options, tune func(*mount.Config)) *env {
	t.Helper()
	c := testcluster.Start(t, opts)
	cl := c.DataClient(nil)
	if err := cl.CreateBucket(ctxT(t, 10*time.Second), "files"); err != nil {
		t.Fatal(err)
	}
	e := &env{c: c, cl: cl}
	e.srv, e.dir = mountOn(t, cl, tune)
	return e
}

// mountOn mounts bucket "files" of cl in a new temporary directory.
func mountOn(t testing.TB, cl *client.Client, tune func(*mount.Config)) (*mount.Server, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "mnt")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := mount.DefaultConfig()
	cfg.Client, cfg.Bucket, cfg.CacheDir = cl, "files", t.TempDir()
	cfg.CacheSize = 256 << 20
	cfg.ListPage = 7 // small pages: readdir crosses many of them
	cfg.Logger = slog.New(slog.NewTextHandler(tlogWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if tune != nil {
		tune(&cfg)
	}
	srv, err := mount.Mount(ctxT(t, 30*time.Second), dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		deadline := time.Now().Add(20 * time.Second)
		for {
			err := srv.Close()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("unmount %s: %v", dir, err)
				return
			}
			time.Sleep(50 * time.Millisecond) // waiting on the kernel to let go of the mount point
		}
	})
	return srv, dir
}
