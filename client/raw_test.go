package client_test

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
)

var rawClient = &http.Client{Timeout: 10 * time.Second}

func decode(t *testing.T, resp *http.Response) proto.Error {
	t.Helper()
	raw, _ := io.ReadAll(resp.Body)
	var e proto.Error
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatalf("status %d, body %q is not a JSON error", resp.StatusCode, raw)
	}
	return e
}

// truncatedUpload declares a 1 MiB chunk, sends 100 KiB and hangs up.
func truncatedUpload(t *testing.T, addr string, id uint64) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "PUT %s/%d HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n",
		proto.RouteChunkData, id, addr, testcluster.Secret, 1<<20)
	conn.Write(make([]byte, 100<<10))
	conn.Close()
}

func fsReadFile(fsys fs.FS, name string) ([]byte, error) { return fs.ReadFile(fsys, name) }
