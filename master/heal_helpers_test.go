package master_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"

	"github.com/granary-store/granary/chunkserver/disk"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
)

// removeChunk takes chunk away from the chunk server whose data dir is dir,
// as deleting its file would: its chunk file is deleted, or its record in
// a volume voided (disk.Remove), and no other chunk is touched.
func removeChunk(t *testing.T, dir string, chunk proto.ChunkID) {
	t.Helper()
	if err := disk.Remove(dir, uint64(chunk)); err != nil {
		t.Fatalf("remove chunk %d from %s: %v", chunk, dir, err)
	}
}

// chunkData returns the file holding chunk's data on the chunk server whose
// data dir is dir, its chunk file or a volume, and the offset of the
// chunk's first data byte in it (disk.Locate).
func chunkData(t *testing.T, dir string, chunk proto.ChunkID) (string, int64) {
	t.Helper()
	path, off, _, err := disk.Locate(dir, uint64(chunk))
	if err != nil {
		t.Fatalf("chunk %d in %s: %v", chunk, dir, err)
	}
	return path, off
}

func osOpenRW(path string) (*os.File, error) { return os.OpenFile(path, os.O_RDWR, 0) }

func httpNewPut(ctx context.Context, ct proto.ChunkTargets, body []byte) (*http.Request, error) {
	url := fmt.Sprintf("http://%s%s/%d", ct.Targets[0].Address, proto.RouteChunkData, ct.ID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+testcluster.Secret)
	req.Header.Set(proto.HeaderPipeline, proto.FormatPipeline(ct.Targets[1:]))
	return req, nil
}

func httpDo(req *http.Request) (*http.Response, error) { return http.DefaultClient.Do(req) }

func scrapeMetrics(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
