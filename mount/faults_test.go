package mount_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/testcluster"
)

// TestMountChunkServerKilledDuringRead kills a chunk server while a large
// file is copied out of the mount: reads go to the other replica and the
// copy comes out byte for byte.
//
// (The same kill during a copy into the mount trips a data race inside the
// client library's pipeline retry, client.putter.progress, reported
// separately; the mount adds nothing to that path.)
func TestMountChunkServerKilledDuringRead(t *testing.T) {
	e := startMountOn(t, testcluster.Options{Masters: 1, ChunkServers: 3, ChunkSize: 1 << 20, Replication: 2}, nil)
	data := randBytes(24<<20, 9)
	if err := os.WriteFile(filepath.Join(e.dir, "copy.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(e.dir, "copy.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got bytes.Buffer
	if _, err := io.CopyN(&got, f, 6<<20); err != nil {
		t.Fatal(err)
	}
	e.c.KillChunkServer(e.c.ChunkServers()[0])
	start := time.Now()
	if _, err := io.Copy(&got, f); err != nil {
		t.Fatalf("read after a chunk server died: %v", err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("read back %d bytes, first difference at %d", got.Len(), firstDiff(got.Bytes(), data))
	}
	t.Logf("the rest of the file read in %v with one chunk server dead", time.Since(start))
}

// TestMountLeaderKilledDuringMetadataOps kills the leader master while
// files are created, renamed and listed through the mount: every operation
// succeeds or fails with EIO, and every file whose creation succeeded reads
// back byte for byte.
func TestMountLeaderKilledDuringMetadataOps(t *testing.T) {
	e := startMountOn(t, testcluster.Options{Masters: 3, ChunkServers: 2, ChunkSize: 1 << 20, Replication: 2}, nil)
	want := map[string][]byte{}
	failures := 0
	for i := range 60 {
		if i == 15 {
			e.c.Kill(e.c.Leader())
		}
		data := randBytes(100+i*1000, uint64(i))
		tmp := filepath.Join(e.dir, fmt.Sprintf("tmp-%02d", i))
		final := filepath.Join(e.dir, fmt.Sprintf("file-%02d", i))
		err := os.WriteFile(tmp, data, 0o644)
		if err == nil {
			err = os.Rename(tmp, final)
		}
		if err == nil {
			want[final] = data
			continue
		}
		if !errors.Is(err, syscall.EIO) {
			t.Fatalf("operation %d: %v, want success or EIO", i, err)
		}
		failures++
	}
	for name, data := range want {
		got, err := os.ReadFile(name)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: %d bytes, %v; want %d", name, len(got), err, len(data))
		}
	}
	if _, err := os.ReadDir(e.dir); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of 60 create+rename pairs succeeded across the leader's death, %d failed with EIO", len(want), failures)
}
