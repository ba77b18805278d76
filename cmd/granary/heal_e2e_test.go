package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver/disk"
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
	// replicas finds, on each chunk server, the file holding a chunk
	// (its chunk file, or the volume holding its record) and the chunk's
	// bytes in it.
	type replica struct {
		path string
		data []byte
		at   int64
	}
	replicas := func() []replica {
		var out []replica
		servers, _ := filepath.Glob(filepath.Join(dir, "chunkservers", "*"))
		for _, sdir := range servers {
			chunks, _ := disk.Inventory(sdir)
			for _, c := range chunks {
				path, at, size, err := disk.Locate(sdir, c.ID)
				if err != nil {
					continue
				}
				file, _ := os.ReadFile(path)
				if int64(len(file)) >= at+size {
					out = append(out, replica{path, file[at : at+size], at})
				}
			}
		}
		return out
	}
	found := replicas()
	if len(found) != 3 || !bytes.Equal(found[0].data, want) {
		t.Fatalf("%d replicas after one put, want 3 of the object's bytes: %v", len(found), found)
	}
	// A flipped data byte in one replica, and the file holding another
	// deleted (its volume holds nothing else here).
	f, err := os.OpenFile(found[0].path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	f.ReadAt(b[:], found[0].at+1000)
	b[0] ^= 0x10
	f.WriteAt(b[:], found[0].at+1000)
	f.Close()
	if err := os.Remove(found[1].path); err != nil {
		t.Fatal(err)
	}
	secret := bytes.TrimSpace(mustRead(t, secretFile))
	healthy := func() bool {
		st, ok := status(t, append(env, "GRANARY_CLUSTER_SECRET="+string(secret)), web)
		return ok && st.Chunks.Total == 1 && st.Chunks.UnderReplicated == 0 && st.Chunks.Corrupt == 0 && st.Chunks.Missing == 0
	}
	damaged := time.Now()
	waitUntil(t, time.Minute, "three good replicas again, and the status healthy", func() bool {
		got := replicas()
		if len(got) != 3 {
			return false
		}
		for _, r := range got {
			if !bytes.Equal(r.data, want) {
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
