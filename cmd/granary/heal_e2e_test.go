package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// On granary server's own topology (one master, three chunk servers,
// replication 3: every server holds every chunk) a replica with a flipped
// byte and a replica whose file was deleted are both back to good copies
// within a minute, with no read and no restart: the scrubber (every 10 s
// here) and the sweep (its default 30 s) find them, and the master repairs
// in place, since there is no other server to copy to.
func TestServerRepairsDamagedReplicasWithinAMinute(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	web, raftAddr, s3 := freeAddr(t), freeAddr(t), freeAddr(t)
	p := start(t, nil, "server", "--dir", dir, "--web-addr", web, "--raft-addr", raftAddr, "--s3-addr", s3, "--scrub-interval", "10s")
	secretFile := filepath.Join(dir, "cluster-secret")
	env := []string{"GRANARY_MASTERS=" + web}
	waitUntil(t, 30*time.Second, "the server to say it is serving", func() bool {
		return bytes.Contains([]byte(p.out.String()), []byte("granary server: S3 on"))
	})
	if _, code := granary(t, env, "admin", "--secret-file", secretFile, "create-bucket", "heal"); code != 0 {
		t.Fatal("create bucket")
	}
	local := filepath.Join(t.TempDir(), "obj")
	want := bytes.Repeat([]byte("granary!"), 25_000) // 200 KB: one chunk
	os.WriteFile(local, want, 0o600)
	if _, code := granary(t, env, "put", "--secret-file", secretFile, local, "heal/obj"); code != 0 {
		t.Fatal("put")
	}
	files := func() []string {
		m, _ := filepath.Glob(filepath.Join(dir, "chunkservers", "*", "chunks", "*", "*.chunk"))
		return m
	}
	replicas := files()
	if len(replicas) != 3 {
		t.Fatalf("%d chunk files after one put, want 3: %v", len(replicas), replicas)
	}
	good := mustRead(t, replicas[2])
	bad := bytes.Clone(good)
	bad[64+1000] ^= 0x10 // a data byte
	if err := os.WriteFile(replicas[0], bad, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(replicas[1]); err != nil {
		t.Fatal(err)
	}
	secret := bytes.TrimSpace(mustRead(t, secretFile))
	healthy := func() bool {
		st, ok := status(t, append(env, "GRANARY_CLUSTER_SECRET="+string(secret)), web)
		return ok && st.Chunks.Total == 1 && st.Chunks.UnderReplicated == 0 && st.Chunks.Corrupt == 0 && st.Chunks.Missing == 0
	}
	damaged := time.Now()
	waitUntil(t, time.Minute, "three good replicas again, and the status healthy", func() bool {
		got := files()
		if len(got) != 3 {
			return false
		}
		for _, f := range got {
			if b, err := os.ReadFile(f); err != nil || !bytes.Equal(b, good) {
				return false
			}
		}
		return healthy()
	})
	t.Logf("both replicas good again %v after the damage", time.Since(damaged).Round(100*time.Millisecond))
	down := filepath.Join(t.TempDir(), "down")
	if _, code := granary(t, env, "get", "--secret-file", secretFile, "heal/obj", down); code != 0 || !bytes.Equal(mustRead(t, down), want) {
		t.Fatal("the object does not read back")
	}
}
