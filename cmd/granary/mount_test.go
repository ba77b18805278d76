package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mounted reports whether dir is a mount point of the granary file system.
func mounted(dir string) bool {
	b, _ := os.ReadFile("/proc/self/mounts")
	return strings.Contains(string(b), " "+dir+" fuse.granary ")
}

// TestMountCommand runs `granary mount` against `granary server` as an
// operator would: files written through the mount come back with `granary
// get`, Ctrl-C with a file open says the mount is busy, and once it is
// closed the mount goes away and the command exits 0.
func TestMountCommand(t *testing.T) {
	if out, code := granary(t, nil, "mount", "-h"); code != 0 || out != "" {
		t.Fatalf("mount -h: exit %d, stdout %q", code, out)
	}
	for _, args := range [][]string{{"mount"}, {"mount", "onlyone"}, {"mount", "b", "/nonexistent-dir"}, {"mount", "--attr-ttl", "x", "b", "/tmp"}, {"mount", "--cache-size", "-5", "b", "/tmp"}} {
		if _, code := granary(t, nil, args...); code != 2 {
			t.Errorf("granary %v exited %d, want 2", args, code)
		}
	}

	dir := filepath.Join(t.TempDir(), "data")
	web, raftAddr, s3 := freeAddr(t), freeAddr(t), freeAddr(t)
	srv := start(t, nil, "server", "--dir", dir, "--web-addr", web, "--raft-addr", raftAddr, "--s3-addr", s3)
	waitUntil(t, 30*time.Second, "the server to say it is serving", func() bool {
		return strings.Contains(srv.out.String(), "granary server: S3 on")
	})
	env := []string{"GRANARY_MASTERS=" + web, "GRANARY_CLUSTER_SECRET=" + strings.TrimSpace(string(mustRead(t, filepath.Join(dir, "cluster-secret"))))}
	if _, code := granary(t, env, "admin", "create-bucket", "files"); code != 0 {
		t.Fatal("create bucket")
	}
	mnt := filepath.Join(t.TempDir(), "mnt")
	os.Mkdir(mnt, 0o755)
	metrics := freeAddr(t)
	m := start(t, env, "mount", "--cache-dir", t.TempDir(), "--metrics-addr", metrics, "files/sub", mnt)
	t.Cleanup(func() {
		if mounted(mnt) {
			syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
	})
	waitUntil(t, 30*time.Second, "the mount", func() bool { return mounted(mnt) })

	data := bytes.Repeat([]byte("mounted "), 100_000)
	if err := os.WriteFile(filepath.Join(mnt, "a.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	down := filepath.Join(t.TempDir(), "a.bin")
	if _, code := granary(t, env, "get", "files/sub/a.bin", down); code != 0 || !bytes.Equal(mustRead(t, down), data) {
		t.Fatal("a file written through the mount does not come back with granary get")
	}
	resp, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "granary_mount_written_bytes_total 800000") {
		t.Errorf("metrics:\n%s", body)
	}

	held, err := os.Open(filepath.Join(mnt, "a.bin"))
	if err != nil {
		t.Fatal(err)
	}
	m.cmd.Process.Signal(syscall.SIGINT)
	waitUntil(t, 20*time.Second, "the busy message", func() bool { return strings.Contains(m.out.String(), "is busy") })
	held.Close()
	if err := m.cmd.Wait(); err != nil {
		t.Fatalf("mount after SIGINT: %v\n%s", err, m.out.String())
	}
	if mounted(mnt) {
		t.Fatal("still mounted after the command ended")
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.cmd.Wait()
}
