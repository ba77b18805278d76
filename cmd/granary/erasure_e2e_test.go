package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/granary-store/granary/chunkserver/disk"
)

// TestServerErasureCoded: granary server --chunkservers 6 --policy rs-4-2
// stores objects written through S3 as six shards a chunk, 1.5 times their size
// on disk (plus the chunk files' checksums), and reads them back.
func TestServerErasureCoded(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	web, s3 := freeAddr(t), freeAddr(t)
	p := start(t, nil, "server", "--dir", dir, "--web-addr", web, "--raft-addr", freeAddr(t), "--s3-addr", s3,
		"--chunkservers", "6", "--policy", "rs-4-2", "--no-sync", "--log-format", "json")
	waitUntil(t, 30*time.Second, "the server", func() bool { return strings.Contains(p.out.String(), "granary server: S3 on") })
	waitUntil(t, 10*time.Second, "a JSON log line", func() bool { return strings.Contains(p.out.String(), `"msg":"S3 gateway serving"`) })
	if _, stderr, code := cli(t, nil, "gateway", "--masters", web, "--s3-addr", freeAddr(t), "--log-format", "xml"); code != 2 || !strings.Contains(stderr, "--log-format") {
		t.Fatalf("gateway --log-format xml: exit %d, %q", code, stderr)
	}
	mc := s3Client(t, s3, p.out.String())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := mc.MakeBucket(ctx, "cold", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 24<<20)
	r := rand.New(rand.NewPCG(7, 7))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	if _, err := mc.PutObject(ctx, "cold", "big", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	o, err := mc.GetObject(ctx, "cold", "big", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(o)
	if err != nil || sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("read back %d bytes: %v", len(got), err)
	}
	var stored int64
	shards := 0
	servers, _ := filepath.Glob(filepath.Join(dir, "chunkservers", "*"))
	for _, sdir := range servers {
		chunks, err := disk.Inventory(sdir) // chunk files and packed chunks
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range chunks {
			stored += c.Size
			shards++
		}
	}
	ratio := float64(stored) / float64(len(data))
	t.Logf("%d chunks, %d bytes stored for %d: %.3fx", shards, stored, len(data), ratio)
	if shards == 0 || shards%6 != 0 || ratio < 1.5 || ratio > 1.6 {
		t.Fatalf("%d chunks holding %.3fx the object, want six shards a chunk at 1.5x", shards, ratio)
	}

	// A replicated bucket converted with granary admin convert reads back
	// the same, and a second run finds nothing left to do.
	env := []string{"GRANARY_MASTERS=" + web}
	secret := filepath.Join(dir, "cluster-secret")
	mustCLI(t, env, "admin", "--secret-file", secret, "create-bucket", "warm", "--policy", "rep-3")
	if _, err := mc.PutObject(ctx, "warm", "doc", bytes.NewReader(data[:5<<20]), 5<<20, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if out := mustCLI(t, env, "admin", "--secret-file", secret, "convert", "warm", "--policy", "rs-4-2"); !strings.Contains(out, "converted 1 objects") {
		t.Fatalf("admin convert: %q", out)
	}
	o, err = mc.GetObject(ctx, "warm", "doc", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(o); err != nil || !bytes.Equal(got, data[:5<<20]) {
		t.Fatalf("read back after the conversion: %d bytes, %v", len(got), err)
	}
	if out := mustCLI(t, env, "admin", "--secret-file", secret, "convert", "warm", "--policy", "rs-4-2"); !strings.Contains(out, "converted 0 objects") || !strings.Contains(out, "1 stored so already") {
		t.Fatalf("admin convert again: %q", out)
	}
}

// TestServerChunkServerPort: --chunkserver-port puts granary server's
// chunk servers on known ports, where their /metrics can be scraped.
func TestServerChunkServerPort(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	csAddr := freeAddr(t)
	_, port, _ := strings.Cut(csAddr, ":")
	p := start(t, nil, "server", "--dir", dir, "--web-addr", freeAddr(t), "--raft-addr", freeAddr(t), "--s3-addr", freeAddr(t),
		"--chunkservers", "1", "--replication", "1", "--chunkserver-port", port, "--no-sync")
	waitUntil(t, 30*time.Second, "the server", func() bool { return strings.Contains(p.out.String(), "granary server: S3 on") })
	resp, err := http.Get("http://" + csAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "granary_chunk") {
		t.Fatalf("chunk server metrics on %s: %s\n%.300s", csAddr, resp.Status, body)
	}
	if _, stderr, code := cli(t, nil, "server", "--chunkserver-port", "65535", "--chunkservers", "2"); code != 2 || !strings.Contains(stderr, "--chunkserver-port") {
		t.Fatalf("server --chunkserver-port 65535 with two chunk servers: exit %d, %q", code, stderr)
	}
}
