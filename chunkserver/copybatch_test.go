package chunkserver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// logWriter sends a server's log to the test's.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// startServer runs a chunk server on 127.0.0.1:0 with its own temp dir
// and no master (its heartbeats fail, which these tests do not need).
func startServer(t *testing.T, id proto.NodeID, tune func(*Config)) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.ID, cfg.Listener, cfg.Masters, cfg.ClusterSecret = id, ln, []string{"127.0.0.1:1"}, "s"
	cfg.Store.Dirs, cfg.Store.NoSync = []string{t.TempDir()}, true
	cfg.HeartbeatInterval, cfg.RepairBandwidth = time.Hour, 0
	cfg.Logger = slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if tune != nil {
		tune(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", id, err)
		}
	})
	return s
}

// put stores chunk id with data in s's store.
func put(t *testing.T, s *Server, id proto.ChunkID, data []byte) {
	t.Helper()
	w, err := s.store.Create(uint64(id), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// content is the data of chunk id in these tests: id-dependent, size
// bytes.
func content(id proto.ChunkID, size int) []byte {
	return bytes.Repeat([]byte{byte(id), byte(id >> 8), 0xa5}, size/3+1)[:size]
}

// flip changes the data byte at off of chunk id in s's store.
func flip(t *testing.T, s *Server, id proto.ChunkID, off int64) {
	t.Helper()
	path, data, _, err := s.store.Locate(uint64(id))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, data+off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, data+off); err != nil {
		t.Fatal(err)
	}
}

// reports takes what s would tell the master next: chunks added, copies
// failed, replicas found corrupt.
func reports(s *Server) (added, failed, corrupt []proto.ChunkID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	added, failed, corrupt = s.added, s.failedCopies, s.corrupt
	s.added, s.failedCopies, s.corrupt = nil, nil, nil
	slices.Sort(added)
	slices.Sort(failed)
	return added, failed, corrupt
}

// holds checks that s stores chunk id with exactly data.
func holds(t *testing.T, s *Server, id proto.ChunkID, data []byte) {
	t.Helper()
	var got bytes.Buffer
	if _, err := s.store.ReadRange(uint64(id), 0, int64(len(data)), &got); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Errorf("%s: chunk %d: %d bytes, %v", s.cfg.ID, id, got.Len(), err)
	}
	if n, ok := s.store.Size(uint64(id)); !ok || n != int64(len(data)) {
		t.Errorf("%s: chunk %d is %d bytes (%v), want %d", s.cfg.ID, id, n, ok, len(data))
	}
}

func lacks(t *testing.T, s *Server, id proto.ChunkID) {
	t.Helper()
	if _, ok := s.store.Size(uint64(id)); ok {
		t.Errorf("%s holds chunk %d", s.cfg.ID, id)
	}
}

func batchCmd(src *Server, ids ...proto.ChunkID) proto.Command {
	return proto.Command{Op: proto.CmdCopy, Chunk: ids[0], More: ids[1:], Source: proto.Target{ID: src.cfg.ID, Address: src.Addr()}}
}

// TestCopyBatch: a batch copies small (packed) and large (file) chunks
// alike; a chunk corrupt at the source (found part way through its data),
// one the source lacks, and one already here are each reported on their
// own, and every other chunk of the batch is stored, verified.
func TestCopyBatch(t *testing.T) {
	src, dst := startServer(t, "src", nil), startServer(t, "dst", nil)
	sizes := map[proto.ChunkID]int{1: 1000, 2: 150_000, 3: 0, 4: 2 << 20, 5: 150_000, 7: 64 << 10, 8: 5}
	for id, n := range sizes {
		put(t, src, id, content(id, n))
	}
	put(t, dst, 8, content(8, 5))
	flip(t, src, 5, 70_000) // in the second block: the first is sent before the damage shows
	reports(dst)

	reads := 0
	failed, err := dst.copyBatch(batchCmd(src, 1, 2, 3, 4, 5, 6, 7, 8), func() { reads++ })
	if reads != 1 {
		t.Errorf("the batch said %d times that it was read, want once", reads)
	}
	if failed != 2 || err == nil {
		t.Fatalf("copyBatch = %d failed, %v; want 2", failed, err)
	}
	for _, id := range []proto.ChunkID{1, 2, 3, 4, 7, 8} {
		holds(t, dst, id, content(id, sizes[id]))
	}
	lacks(t, dst, 5)
	lacks(t, dst, 6)
	added, fails, _ := reports(dst)
	if fmt.Sprint(added) != "[1 2 3 4 7 8]" || fmt.Sprint(fails) != "[5 6]" {
		t.Errorf("dst reports added %v, failed %v; want [1 2 3 4 7 8], [5 6]", added, fails)
	}
	var bytes int64
	for _, id := range []proto.ChunkID{1, 2, 3, 4, 7} {
		bytes += int64(sizes[id])
	}
	if dst.copiesDone.Load() != 5 || dst.copiedBytes.Load() != bytes {
		t.Errorf("dst counted %d copies of %d bytes, want 5 of %d", dst.copiesDone.Load(), dst.copiedBytes.Load(), bytes)
	}
	if dst.room.used != 0 {
		t.Errorf("the batch left %d bytes held in the commit room", dst.room.used)
	}
	if _, _, corrupt := reports(src); fmt.Sprint(corrupt) != "[5]" {
		t.Errorf("src reports corrupt %v, want [5]", corrupt)
	}
}

// TestCopyBatchThroughTheQueue: a copy command with More, handed over as
// the master hands it, runs as one batch.
func TestCopyBatchThroughTheQueue(t *testing.T) {
	src, dst := startServer(t, "src", nil), startServer(t, "dst", nil)
	for id := proto.ChunkID(1); id <= 3; id++ {
		put(t, src, id, content(id, 3000))
	}
	reports(dst)
	dst.enqueue([]proto.Command{batchCmd(src, 1, 2, 3)})
	waitFor(t, "three copies done", func() bool { return dst.copiesDone.Load() == 3 })
	if added, failed, _ := reports(dst); fmt.Sprint(added) != "[1 2 3]" || len(failed) > 0 {
		t.Fatalf("added %v, failed %v", added, failed)
	}
	for id := proto.ChunkID(1); id <= 3; id++ {
		holds(t, dst, id, content(id, 3000))
	}
}

// waitFor polls cond until it holds, for at most 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-timeout:
			t.Fatalf("waited 10 s for %s", what)
		}
	}
}

// fakeSource serves batch reads with h.
func fakeSource(t *testing.T, h http.HandlerFunc) proto.Target {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return proto.Target{ID: "fake", Address: strings.TrimPrefix(srv.URL, "http://")}
}

func record(id proto.ChunkID, data []byte) []byte {
	return proto.AppendBatchStatus(append(proto.AppendBatchHeader(nil, id, int64(len(data))), data...), proto.BatchOK)
}

// TestCopyBatchCutShort: when the connection to the source is cut in the
// middle of a batch, the chunks received whole are stored and the rest
// reported failed.
func TestCopyBatchCutShort(t *testing.T) {
	dst := startServer(t, "dst", nil)
	one, two := content(1, 5000), content(2, 5000)
	cmd := proto.Command{Op: proto.CmdCopy, Chunk: 1, More: []proto.ChunkID{2, 3}, Source: fakeSource(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write(record(1, one))
		w.Write(record(2, two)[:100])
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler) // the connection closes mid-record
	})}
	reports(dst)
	if failed, err := dst.copyBatch(cmd, func() {}); failed != 2 || !strings.Contains(fmt.Sprint(err), "unexpected EOF") {
		t.Fatalf("copyBatch = %d failed, %v; want 2, unexpected EOF", failed, err)
	}
	holds(t, dst, 1, one)
	lacks(t, dst, 2)
	if added, failed, _ := reports(dst); fmt.Sprint(added) != "[1]" || fmt.Sprint(failed) != "[2 3]" {
		t.Errorf("added %v, failed %v", added, failed)
	}
}

// TestCopyBatchStalledSource: a source that stops sending, between
// chunks or inside one, is cut off after IdleTimeout, not at the batch's
// deadline; a source that sends slowly but steadily is not.
func TestCopyBatchStalledSource(t *testing.T) {
	dst := startServer(t, "dst", func(cfg *Config) { cfg.IdleTimeout = 300 * time.Millisecond })
	one := record(1, content(1, 100))
	for name, stallAt := range map[string]int{"between chunks": len(one), "inside a chunk": len(one) + proto.BatchHeaderSize + 10} {
		t.Run(name, func(t *testing.T) {
			cmd := proto.Command{Op: proto.CmdCopy, Chunk: 1, More: []proto.ChunkID{2}, Source: fakeSource(t, func(w http.ResponseWriter, r *http.Request) {
				w.Write(append(one, record(2, content(2, 100))...)[:stallAt])
				http.NewResponseController(w).Flush()
				<-r.Context().Done()
			})}
			dst.store.Delete(1)
			reports(dst)
			start := time.Now()
			failed, err := dst.copyBatch(cmd, func() {})
			if failed != 1 || !strings.Contains(fmt.Sprint(err), "no bytes for 300ms") {
				t.Fatalf("copyBatch = %d failed, %v; want 1, no bytes for 300ms", failed, err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("the stall was cut after %v", took)
			}
			holds(t, dst, 1, content(1, 100))
		})
	}
	t.Run("slow but steady", func(t *testing.T) {
		data := content(3, 1000)
		cmd := proto.Command{Op: proto.CmdCopy, Chunk: 3, More: []proto.ChunkID{4, 5, 6}, Source: fakeSource(t, func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			tick := time.NewTicker(100 * time.Millisecond) // the pace of a slow source: 7 pieces, 600 ms
			defer tick.Stop()
			rec := record(3, data)
			for i := 0; i < len(rec); i += len(rec)/6 + 1 {
				w.Write(rec[i:min(i+len(rec)/6+1, len(rec))])
				rc.Flush()
				<-tick.C
			}
			for id := proto.ChunkID(4); id <= 6; id++ {
				w.Write(record(id, content(id, 10)))
			}
		})}
		if failed, err := dst.copyBatch(cmd, func() {}); failed != 0 {
			t.Fatalf("copyBatch = %d failed, %v", failed, err)
		}
		holds(t, dst, 3, data)
	})
}

// TestBatchReadRefusesBadRequests: the endpoint answers 400 to a
// malformed batch, 401 without the secret, before any record.
func TestBatchReadRefusesBadRequests(t *testing.T) {
	src := startServer(t, "src", nil)
	post := func(body, secret string) (int, proto.Code) {
		req, err := http.NewRequest(http.MethodPost, "http://"+src.Addr()+proto.RouteChunkBatch, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if secret != "" {
			src.rpc.Authorize(req)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			io.Copy(io.Discard, resp.Body)
			return resp.StatusCode, ""
		}
		return resp.StatusCode, proto.ErrorFromResponse(resp).Code
	}
	for _, body := range []string{`{}`, `{"chunks":[]}`, `{"chunks":[0]}`, `{"chunks":[1,1]}`, `{"chunks":[1],"x":1}`,
		`{"chunks":[-3]}`, `{"chunks":"1"}`, `not json`, `{"chunks":[` + strings.Repeat("1,", proto.MaxCopyBatch) + `2]}`} {
		if status, code := post(body, "s"); status != http.StatusBadRequest || code != proto.CodeBadRequest {
			t.Errorf("%.60s: %d %s, want 400 BadRequest", body, status, code)
		}
	}
	if status, _ := post(`{"chunks":[1]}`, ""); status != http.StatusUnauthorized {
		t.Errorf("without the secret: %d", status)
	}
	if status, _ := post(`{"chunks":[1]}`, "s"); status != http.StatusOK {
		t.Errorf("a good request: %d", status)
	}
}

// TestCheckCommand: the commands a server refuses to run.
func TestCheckCommand(t *testing.T) {
	src := proto.Target{ID: "a", Address: "h:1"}
	many := make([]proto.ChunkID, proto.MaxCopyBatch)
	for i := range many {
		many[i] = proto.ChunkID(i + 2)
	}
	for _, good := range []proto.Command{
		{Op: proto.CmdCopy, Chunk: 1, Source: src},
		{Op: proto.CmdCopy, Chunk: 1, Source: src, More: many[:proto.MaxCopyBatch-1]},
		{Op: proto.CmdDelete, Chunk: 1},
		{Op: proto.CmdReconstruct, Chunk: 1, Rebuild: &proto.Rebuild{}},
	} {
		if err := checkCommand(good); err != nil {
			t.Errorf("%+v refused: %v", good, err)
		}
	}
	for name, bad := range map[string]proto.Command{
		"unknown op":          {Op: "move", Chunk: 1, Source: src},
		"no op":               {Chunk: 1, Source: src},
		"no chunk":            {Op: proto.CmdCopy, Source: src},
		"zero in the batch":   {Op: proto.CmdCopy, Chunk: 1, Source: src, More: []proto.ChunkID{2, 0}},
		"a chunk twice":       {Op: proto.CmdCopy, Chunk: 1, Source: src, More: []proto.ChunkID{2, 1}},
		"too large a batch":   {Op: proto.CmdCopy, Chunk: 1, Source: src, More: many},
		"no source":           {Op: proto.CmdCopy, Chunk: 1, More: []proto.ChunkID{2}},
		"delete with more":    {Op: proto.CmdDelete, Chunk: 1, More: []proto.ChunkID{2}},
		"delete of nothing":   {Op: proto.CmdDelete},
		"rebuild with more":   {Op: proto.CmdReconstruct, Chunk: 1, More: []proto.ChunkID{2}},
		"empty, not nil more": {Op: proto.CmdDelete, Chunk: 1, More: []proto.ChunkID{}},
	} {
		if err := checkCommand(bad); err == nil {
			t.Errorf("%s: %+v accepted", name, bad)
		}
	}
}

// TestDeletesThroughTheQueue: deletes queued one behind another run as
// one batch, in their place among the other commands: a copy queued
// between two runs of deletes runs, a bad delete is refused, and every
// chunk named is removed and reported.
func TestDeletesThroughTheQueue(t *testing.T) {
	src, dst := startServer(t, "src", nil), startServer(t, "dst", nil)
	for id := proto.ChunkID(1); id <= 6; id++ {
		put(t, dst, id, content(id, 3000))
	}
	put(t, src, 9, content(9, 3000))
	reports(dst)
	dst.enqueue([]proto.Command{
		{Op: proto.CmdDelete, Chunk: 1}, {Op: proto.CmdDelete, Chunk: 2}, {Op: proto.CmdDelete, Chunk: 7}, // 7: not there
		{Op: proto.CmdDelete}, // no chunk: refused
		{Op: proto.CmdDelete, Chunk: 3},
		batchCmd(src, 9),
		{Op: proto.CmdDelete, Chunk: 4}, {Op: proto.CmdDelete, Chunk: 5},
	})
	removed := func() []proto.ChunkID {
		dst.mu.Lock()
		defer dst.mu.Unlock()
		r := slices.Clone(dst.removed)
		slices.Sort(r)
		return r
	}
	waitFor(t, "deletes and the copy done", func() bool {
		return len(removed()) == 6 && dst.copiesDone.Load() == 1
	})
	if got := fmt.Sprint(removed()); got != "[1 2 3 4 5 7]" {
		t.Errorf("removed %s", got)
	}
	for id := proto.ChunkID(1); id <= 5; id++ {
		lacks(t, dst, id)
	}
	holds(t, dst, 6, content(6, 3000))
	holds(t, dst, 9, content(9, 3000))
}
