package client_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/chunkserver/disk"
	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// writing returns the chunk servers that hold a chunk being written now
// (an open writer in their store: a temporary file, or a small chunk
// gathered in memory until it is packed).
func writing(c *testcluster.Cluster) []*testcluster.ChunkNode {
	var out []*testcluster.ChunkNode
	for _, n := range c.ChunkServers() {
		if srv := n.Server(); srv != nil && srv.Store().Writers() > 0 {
			out = append(out, n)
		}
	}
	return out
}

func readAll(t *testing.T, cl *client.Client, key string) []byte {
	t.Helper()
	rc, err := cl.Get(ctxT(t, 30*time.Second), "data", key)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

func TestChunkServerKilledDuringWrite(t *testing.T) {
	c, cl := startData(t, 4)
	data := payload(3*testChunk, 4)
	var victim *testcluster.ChunkNode
	var once sync.Once
	// Progress is called from the request body as bytes leave the client:
	// holding it mid-chunk holds the upload with the chunk half written.
	progress := func(sent int64) {
		if sent < testChunk+100<<10 {
			return
		}
		once.Do(func() {
			c.WaitFor(10*time.Second, "a chunk in flight", func() bool { return len(writing(c)) > 0 })
			victim = writing(c)[0]
			c.KillChunkServer(victim)
		})
	}
	obj, err := cl.Put(ctxT(t, 60*time.Second), "data", "survivor", bytes.NewReader(data), int64(len(data)), &client.PutOptions{Progress: progress})
	if err != nil {
		t.Fatalf("put through a failing pipeline: %v", err)
	}
	if victim == nil {
		t.Fatal("the kill hook never ran")
	}
	if !bytes.Equal(readAll(t, cl, "survivor"), data) {
		t.Fatal("object differs after a pipeline retry")
	}
	// No half chunk is readable anywhere, even on the killed server after
	// it restarts: every chunk a store lists verifies completely.
	c.RestartChunkServer(victim)
	for _, n := range c.ChunkServers() {
		st := n.Server().Store()
		for _, ch := range st.List() {
			if err := st.Verify(ch.ID); err != nil {
				t.Errorf("%s holds a bad chunk %d: %v", n.ID, ch.ID, err)
			}
		}
	}
	for _, e := range obj.Extents {
		holders := 0
		for _, n := range c.ChunkServers() {
			if info, err := n.Server().Store().Stat(uint64(e.Chunk)); err == nil && info.Size == e.Length {
				holders++
			}
		}
		if holders < 3 {
			t.Errorf("chunk %d of the committed object is on %d servers, want 3", e.Chunk, holders)
		}
	}
}

func TestChunkServerKilledAfterWrite(t *testing.T) {
	c, cl := startData(t, 3)
	want := map[string][]byte{}
	for i := range 5 {
		key := fmt.Sprintf("obj%d", i)
		want[key] = payload(int64(i)*testChunk/2+testChunk, uint64(i))
		if _, err := cl.Put(ctxT(t, 30*time.Second), "data", key, bytes.NewReader(want[key]), -1, nil); err != nil {
			t.Fatal(err)
		}
	}
	c.KillChunkServer(c.ChunkServers()[1])
	for key, data := range want {
		if !bytes.Equal(readAll(t, cl, key), data) {
			t.Errorf("%s differs with one chunk server down", key)
		}
	}
}

// chunkPath finds the file holding a chunk's data in a chunk server's
// directory, its chunk file or a volume, and the offset of the chunk's
// first data byte in it (disk.Locate).
func chunkPath(t *testing.T, n *testcluster.ChunkNode, id client.ChunkID) (string, int64) {
	t.Helper()
	path, at, _, err := disk.Locate(n.Dir, uint64(id))
	if err != nil {
		t.Fatalf("chunk %d on %s: %v", id, n.ID, err)
	}
	return path, at
}

func TestFlippedByteIsDetectedAndReported(t *testing.T) {
	c, cl := startData(t, 3)
	data := payload(testChunk+1000, 5)
	if _, err := cl.Put(ctxT(t, 30*time.Second), "data", "flip", bytes.NewReader(data), -1, nil); err != nil {
		t.Fatal(err)
	}
	loc, err := c.Client().Locate(ctxT(t, 10*time.Second), "data", "flip")
	if err != nil {
		t.Fatal(err)
	}
	first := loc.Locations[0] // the replica a reader tries first
	var node *testcluster.ChunkNode
	for _, n := range c.ChunkServers() {
		if n.ID == first.Targets[0].ID {
			node = n
		}
	}
	path, at := chunkPath(t, node, first.ID)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var b [1]byte
	f.ReadAt(b[:], at+200_000) // a byte in the data's 4th block
	b[0] ^= 0x40
	f.WriteAt(b[:], at+200_000)
	f.Close()

	if got := readAll(t, cl, "flip"); !bytes.Equal(got, data) {
		t.Fatal("read did not fall back to a good replica")
	}
	// The report reaches the master: it stops offering the replica at once
	// (repairing it is the self-healing loop's job, tested there).
	loc, _ = c.Client().Locate(ctxT(t, 10*time.Second), "data", "flip")
	for _, tg := range loc.Locations[0].Targets {
		if tg.ID == node.ID {
			t.Fatalf("the master still offers the corrupt replica on %s", node.ID)
		}
	}
}

// fullFS fails every write with ENOSPC once armed (a fake: a real full disk
// cannot be made here without privileges; the store's own tests inject
// ENOSPC at every write).
type fullFS struct {
	disk.FS
	armed *bool
	mu    *sync.Mutex
}

func (f fullFS) OpenFile(name string, flag int, perm os.FileMode) (disk.File, error) {
	file, err := f.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return fullFile{File: file, fs: f}, nil
}

type fullFile struct {
	disk.File
	fs fullFS
}

func (f fullFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	armed := *f.fs.armed
	f.fs.mu.Unlock()
	if armed {
		return 0, &os.PathError{Op: "write", Path: "chunk", Err: syscall.ENOSPC}
	}
	return f.File.WriteAt(p, off)
}

func TestBadInputOnTheDataPath(t *testing.T) {
	armed, mu := false, &sync.Mutex{}
	c := testcluster.Start(t, testcluster.Options{Masters: 1, ChunkServers: 1, ChunkSize: testChunk,
		TuneChunk: func(cfg *chunkserver.Config) {
			cfg.Store.FS = fullFS{FS: disk.OSFS(), armed: &armed, mu: mu}
		}})
	cl := c.DataClient(func(cfg *client.Config) { cfg.MaxAttempts = 2 })
	ctx := ctxT(t, 30*time.Second)
	if err := cl.CreateBucket(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	data := payload(testChunk/2, 6)
	obj, err := cl.Put(ctx, "data", "ok", bytes.NewReader(data), -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs := c.ChunkServers()[0]
	id := obj.Extents[0].Chunk
	base := fmt.Sprintf("http://%s%s/", cs.Addr, proto.RouteChunkData)
	size := int64(len(data))
	cases := []struct {
		name, method, url, body string
		length                  int64
		status                  int
		code                    proto.Code
	}{
		{"range beyond the end", "GET", fmt.Sprintf("%s%d?offset=%d&length=1", base, id, size), "", 0, 416, proto.CodeInvalidRange},
		{"length past the end", "GET", fmt.Sprintf("%s%d?offset=10&length=%d", base, id, size), "", 0, 416, proto.CodeInvalidRange},
		{"negative offset", "GET", fmt.Sprintf("%s%d?offset=-1&length=1", base, id), "", 0, 416, proto.CodeInvalidRange},
		{"malformed range", "GET", fmt.Sprintf("%s%d?offset=abc", base, id), "", 0, 416, proto.CodeInvalidRange},
		{"unknown chunk", "GET", base + "987654321", "", 0, 404, proto.CodeNotFound},
		{"chunk id zero", "GET", base + "0", "", 0, 400, proto.CodeBadRequest},
		{"overwrite a chunk", "PUT", fmt.Sprintf("%s%d", base, id), "xx", 2, 409, proto.CodeConflict},
		{"too large", "PUT", base + "424242", "x", 1 << 40, 413, proto.CodeTooLarge},
		{"bad pipeline", "PUT", base + "424243", "x", 1, 400, proto.CodeBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx, tc.method, tc.url, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+testcluster.Secret)
			if tc.method == "PUT" {
				req.ContentLength = tc.length
				if tc.name == "bad pipeline" {
					req.Header.Set(proto.HeaderPipeline, "nobody")
				}
			}
			resp, err := rawClient.Do(req)
			if err != nil {
				if tc.length > int64(len(tc.body)) { // the server may hang up before reading
					return
				}
				t.Fatal(err)
			}
			defer resp.Body.Close()
			e := decode(t, resp)
			if resp.StatusCode != tc.status || e.Code != tc.code {
				t.Fatalf("got %d %s (%s), want %d %s", resp.StatusCode, e.Code, e.Message, tc.status, tc.code)
			}
		})
	}
	// A truncated upload (the client hangs up mid-stream) stores nothing.
	truncatedUpload(t, cs.Addr, 555555)
	c.WaitFor(10*time.Second, "the aborted upload cleaned up", func() bool {
		_, err := cs.Server().Store().Stat(555555)
		tmps, _ := filepath.Glob(filepath.Join(cs.Dir, "chunks", "*", "*.tmp"))
		return err != nil && len(tmps) == 0
	})
	// A full disk: the write fails with a clear error and nothing is stored.
	mu.Lock()
	armed = true
	mu.Unlock()
	before := cs.Server().Store().List()
	_, err = cl.Put(ctx, "data", "full", bytes.NewReader(payload(testChunk, 7)), -1, nil)
	if err == nil || proto.CodeOf(errors.Unwrap(err)) == "" && !strings.Contains(err.Error(), "NoSpace") {
		t.Fatalf("put on a full disk: %v", err)
	}
	if after := cs.Server().Store().List(); len(after) != len(before) {
		t.Fatalf("a failed write left chunks: %v -> %v", before, after)
	}
	if _, err := cl.Stat(ctx, "data", "full"); proto.CodeOf(err) != proto.CodeNoSuchKey {
		t.Fatalf("object of a failed put exists: %v", err)
	}
	mu.Lock()
	armed = false
	mu.Unlock()
	if got := readAll(t, cl, "ok"); !bytes.Equal(got, data) {
		t.Fatal("earlier object damaged")
	}
}

func sum(b []byte) [32]byte { return sha256.Sum256(b) }

// TestReadMovesOnFromAHungReplica pauses the replica a reader tries first
// (it keeps its sockets but answers nothing): the read must give up on it
// after ReplicaWait and finish from another replica. The request timeout is
// far longer than the read's 30 s deadline, so waiting it out would fail.
func TestReadMovesOnFromAHungReplica(t *testing.T) {
	c, _ := startData(t, 3)
	cl := c.DataClient(func(cfg *client.Config) { cfg.RequestTimeout = 5 * time.Minute })
	data := payload(testChunk/2, 10)
	if _, err := cl.Put(ctxT(t, 30*time.Second), "data", "slow", bytes.NewReader(data), -1, nil); err != nil {
		t.Fatal(err)
	}
	loc, err := c.Client().Locate(ctxT(t, 10*time.Second), "data", "slow")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range c.ChunkServers() {
		if n.ID == loc.Locations[0].Targets[0].ID {
			n.Server().SetPaused(true)
			defer n.Server().SetPaused(false)
		}
	}
	start := time.Now()
	if got := readAll(t, cl, "slow"); !bytes.Equal(got, data) {
		t.Fatal("read from the other replicas differs")
	}
	t.Logf("read finished %v after the first replica hung", time.Since(start))
}

// TestCorruptionFoundMidStream flips a byte past the chunk server's first
// read buffer: the server has already answered 200 and sent bytes, so it
// cuts the body short and names the cause in the status trailer, and the
// client resumes from another replica where the bad one stopped.
func TestCorruptionFoundMidStream(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 1, ChunkServers: 3, ChunkSize: 1 << 20})
	cl := c.DataClient(nil)
	ctx := ctxT(t, 30*time.Second)
	if err := cl.CreateBucket(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	data := payload(1<<20, 7)
	if _, err := cl.Put(ctx, "data", "mid", bytes.NewReader(data), -1, nil); err != nil {
		t.Fatal(err)
	}
	loc, err := c.Client().Locate(ctx, "data", "mid")
	if err != nil {
		t.Fatal(err)
	}
	chunk, first := loc.Locations[0].ID, loc.Locations[0].Targets[0]
	for _, n := range c.ChunkServers() {
		if n.ID == first.ID {
			path, at := chunkPath(t, n, chunk)
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			var b [1]byte
			f.ReadAt(b[:], at+700_000) // the data's 11th block, past the first 256 KiB read
			b[0] ^= 0x01
			f.WriteAt(b[:], at+700_000)
			f.Close()
		}
	}
	rd, err := c.ChunkClient().Get(ctx, first.Address, chunk, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rd)
	verr := rd.Verify()
	rd.Close()
	if len(body) == 0 || len(body) >= 700_000 || proto.CodeOf(verr) != proto.CodeCorrupt {
		t.Fatalf("got %d bytes and %v; want the bytes before the bad block, and a Corrupt trailer", len(body), verr)
	}
	if !bytes.Equal(body, data[:len(body)]) {
		t.Fatal("the bytes sent before the bad block differ")
	}
	if got := readAll(t, cl, "mid"); !bytes.Equal(got, data) {
		t.Fatal("read did not resume from a good replica")
	}
}

// A chunk server that stops taking bytes (paused: sockets open, nothing
// read or answered) costs writers whose pipelines run through it about one
// stall timeout, not the request timeout: the server before it in the
// pipeline cuts it off and names it, or the client does when it is first,
// and the chunk is retried on fresh servers without it. Here the timeouts
// are 10 s and the stall timeouts 0.4 s per server left in the pipeline;
// the master keeps the paused server alive, so placement keeps choosing it.
func TestPausedChunkServerCostsWritersSeconds(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 1, ChunkServers: 4, ChunkSize: testChunk, Replication: 3,
		Tune:      func(cfg *master.Config) { cfg.DeadAfter = time.Minute },
		TuneChunk: func(cfg *chunkserver.Config) { cfg.StallTimeout = 400 * time.Millisecond },
	})
	cl := c.DataClient(func(cfg *client.Config) {
		cfg.StallTimeout = 400 * time.Millisecond
		cfg.Logger = slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	if err := cl.CreateBucket(ctxT(t, 10*time.Second), "data"); err != nil {
		t.Fatal(err)
	}
	paused := c.ChunkServers()[2]
	paused.Server().SetPaused(true)
	defer paused.Server().SetPaused(false)
	for i := range 8 {
		data := payload(testChunk-1000, uint64(i))
		start := time.Now()
		if _, err := cl.Put(ctxT(t, time.Minute), "data", fmt.Sprint("w", i), bytes.NewReader(data), int64(len(data)), nil); err != nil {
			t.Fatalf("put %d with %s paused: %v", i, paused.ID, err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("put %d took %v with %s paused: a stalled server held the writer", i, took, paused.ID)
		}
		st, err := cl.Stat(ctxT(t, 10*time.Second), "data", fmt.Sprint("w", i))
		if err != nil {
			t.Fatal(err)
		}
		loc, err := c.Client().Locate(ctxT(t, 10*time.Second), "data", fmt.Sprint("w", i))
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range loc.Locations[0].Targets {
			if tg.ID == paused.ID {
				t.Fatalf("chunk %d of put %d placed on the paused server", st.Extents[0].Chunk, i)
			}
		}
	}
}

// tlog sends log lines to t.Log, so they show only when a test fails.
type tlog struct{ t testing.TB }

func (w tlog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
