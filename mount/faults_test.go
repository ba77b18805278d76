package mount_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
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
