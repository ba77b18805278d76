package master_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
)

func filepathGlob(dir string, chunk proto.ChunkID) ([]string, error) {
	return filepath.Glob(filepath.Join(dir, "chunks", "*", fmt.Sprintf("%016x.chunk", chunk)))
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
