package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/gateway"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/syncbuf"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// logLine is one JSON log line, decoded.
type logLine map[string]any

func (l logLine) str(k string) string { s, _ := l[k].(string); return s }

// linesWith returns the lines of a JSON log whose request_id is id.
func linesWith(log, id string) []logLine {
	var out []logLine
	for _, raw := range strings.Split(log, "\n") {
		var l logLine
		if json.Unmarshal([]byte(raw), &l) == nil && l.str("request_id") == id {
			out = append(out, l)
		}
	}
	return out
}

// TestRequestIDAcrossProcesses: the x-amz-request-id of an S3 PUT and of
// an S3 GET appears in the gateway's access log line, in the master's log
// lines of the calls the request made there (the commit, the lookup), and
// in the chunk servers' lines of the chunk writes (every server of the
// replication pipeline) and reads, and in no line of the other request.
func TestRequestIDAcrossProcesses(t *testing.T) {
	var gwLog, masterLog, chunkLog syncbuf.Buffer
	debug := &slog.HandlerOptions{Level: slog.LevelDebug}
	opts := testcluster.Options{Masters: 1, ChunkServers: 3, ChunkSize: 256 << 10,
		Tune:      func(c *master.Config) { c.Logger = slog.New(slog.NewJSONHandler(&masterLog, debug)) },
		TuneChunk: func(c *chunkserver.Config) { c.Logger = slog.New(slog.NewJSONHandler(&chunkLog, debug)) },
	}
	_, mc, _ := startS3On(t, opts, func(c *gateway.Config) {
		c.AccessLog = true
		c.Logger = slog.New(slog.NewJSONHandler(&gwLog, nil))
	})
	ctx := ctxT(t, time.Minute)
	if err := mc.MakeBucket(ctx, "traced", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 40<<10) // 640 KiB: three chunks
	send := func(method string, u string, in io.Reader) (string, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, u, in)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s %v: %s", method, resp.Status, err, got)
		}
		id := resp.Header.Get("x-amz-request-id")
		if id == "" {
			t.Fatalf("%s answered without x-amz-request-id", method)
		}
		return id, got
	}
	putURL, err := mc.PresignedPutObject(ctx, "traced", "obj", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	putID, _ := send(http.MethodPut, putURL.String(), bytes.NewReader(body))
	getURL, err := mc.PresignedGetObject(ctx, "traced", "obj", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	getID, got := send(http.MethodGet, getURL.String(), nil)
	if !bytes.Equal(got, body) {
		t.Fatalf("GET returned %d bytes, want the %d put", len(got), len(body))
	}
	if putID == getID {
		t.Fatalf("PUT and GET share the request id %s", putID)
	}

	// The lines are written when each call ends, which may be just after
	// the answer reached the caller: wait for them.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s\nmaster log:\n%s\nchunk server log:\n%s", gwLog.String(), masterLog.String(), chunkLog.String())
		}
	})
	has := func(log, id string, match func(logLine) bool, n int) bool {
		c := 0
		for _, l := range linesWith(log, id) {
			if match(l) {
				c++
			}
		}
		return c >= n
	}
	chunkWrite := func(l logLine) bool {
		return l.str("method") == "PUT" && strings.HasPrefix(l.str("path"), proto.RouteChunkData+"/")
	}
	chunkRead := func(l logLine) bool {
		return l.str("method") == "GET" && strings.HasPrefix(l.str("path"), proto.RouteChunkData+"/")
	}
	for _, c := range []struct {
		what  string
		log   *syncbuf.Buffer
		id    string
		match func(logLine) bool
		n     int
	}{
		{"the gateway's access line of the PUT", &gwLog, putID, func(l logLine) bool { return l.str("op") == "PutObject" }, 1},
		{"the gateway's access line of the GET", &gwLog, getID, func(l logLine) bool { return l.str("op") == "GetObject" }, 1},
		{"the master's line of the PUT's commit", &masterLog, putID, func(l logLine) bool { return strings.Contains(l.str("path"), "commit") }, 1},
		{"the master's lines of the GET", &masterLog, getID, func(l logLine) bool { return l.str("msg") == "call served" }, 1},
		// three chunks, each written to three servers down the pipeline
		{"the chunk servers' lines of the PUT's writes", &chunkLog, putID, chunkWrite, 9},
		{"the chunk servers' lines of the GET's reads", &chunkLog, getID, chunkRead, 3},
	} {
		waitFor(t, c.what, func() bool { return has(c.log.String(), c.id, c.match, c.n) })
	}
	// Each id names its own request's calls only.
	for _, l := range linesWith(chunkLog.String(), getID) {
		if chunkWrite(l) {
			t.Errorf("a chunk write carries the GET's id: %v", l)
		}
	}
	for _, l := range linesWith(chunkLog.String(), putID) {
		if chunkRead(l) {
			t.Errorf("a chunk read carries the PUT's id: %v", l)
		}
	}
}
