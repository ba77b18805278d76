package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
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
	if out, code := granary(t, nil, "mount", "-h"); code != 0 || !strings.HasPrefix(out, "usage: granary mount") {
		t.Fatalf("mount -h: exit %d, stdout %q; want the help", code, out)
	}
	for _, args := range [][]string{{"mount"}, {"mount", "onlyone"}, {"mount", "b", "/nonexistent-dir"}, {"mount", "--attr-ttl", "x", "b", "/tmp"}, {"mount", "--cache-size", "-5", "b", "/tmp"}, {"mount", "--cache-dir", "/tmp/spool", "b", "/tmp"}} {
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
	s3Interop(t, s3, srv.out.String(), mnt, data)

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

// s3Interop: a file written through the mount reads back identically
// through S3 (with rclone's mtime metadata), and an S3 upload, with an
// rclone-style mtime, reads back through the mount at once.
func s3Interop(t *testing.T, addr, serverOut, mnt string, written []byte) {
	t.Helper()
	mc := s3Client(t, addr, serverOut)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	obj, err := mc.GetObject(ctx, "files", "sub/a.bin", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || !bytes.Equal(got, written) {
		t.Fatalf("S3 get of a file written through the mount: %d bytes, %v", len(got), err)
	}
	st, err := obj.Stat()
	if err != nil || st.UserMetadata["Mtime"] == "" {
		t.Fatalf("S3 metadata of a file written through the mount: %v %v", st.UserMetadata, err)
	}
	body := strings.Repeat("uploaded with S3 ", 5000)
	if _, err := mc.PutObject(ctx, "files", "sub/dir/from-s3.txt", strings.NewReader(body), int64(len(body)),
		minio.PutObjectOptions{UserMetadata: map[string]string{"mtime": "1600000000.5"}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(mnt, "dir", "from-s3.txt"))
	if err != nil || string(b) != body {
		t.Fatalf("an S3 upload through the mount: %d bytes, %v", len(b), err)
	}
	fi, err := os.Stat(filepath.Join(mnt, "dir", "from-s3.txt"))
	if err != nil || !fi.ModTime().Equal(time.Unix(1600000000, 500000000)) {
		t.Fatalf("mtime of an S3 upload: %v %v", fi.ModTime(), err)
	}
}
