package client_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
)

// Small objects take their chunks from allocations made ahead, so Puts
// seldom wait on the master before their data moves: 48 small Puts ask
// for allocations a few times, not 48 times, and their chunks reach all
// three servers by fan-out. A chunk server that dies while allocations on
// it are kept costs no Put; big chunks still ask for their own, and go
// through a pipeline.
func TestSmallPutsAllocateAhead(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 1, ChunkServers: 4, ChunkSize: 4 << 20})
	master, err := url.Parse("http://" + c.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	var allocs atomic.Int64
	proxy := httputil.NewSingleHostReverseProxy(master)
	counting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == proto.RouteChunkAllocate {
			allocs.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	defer counting.Close()
	cl := c.DataClient(func(cfg *client.Config) {
		cfg.Masters = []string{strings.TrimPrefix(counting.URL, "http://")}
		cfg.InlineThreshold = -1
	})
	ctx := ctxT(t, time.Minute)
	if err := cl.CreateBucket(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	put := func(key string, data []byte) {
		t.Helper()
		if _, err := cl.Put(ctx, "data", key, bytes.NewReader(data), int64(len(data)), nil); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	small := payload(1000, 1)
	for i := range 48 {
		put(fmt.Sprint("small-", i), small)
	}
	// 48 Puts at 16 per allocation, with room for batches that aged out
	// on a slow machine.
	if n := allocs.Load(); n < 1 || n > 12 {
		t.Fatalf("48 small Puts made %d allocation calls; want a few", n)
	}

	// Each small chunk went to its three servers at once (fan-out), and
	// each holds it.
	replicas := 0
	for _, cs := range c.ChunkServers() {
		replicas += len(cs.Server().Store().List())
	}
	if replicas != 3*48 {
		t.Fatalf("48 small objects have %d replicas; want %d", replicas, 3*48)
	}

	c.KillChunkServer(c.ChunkServers()[0])
	for i := range 32 {
		put(fmt.Sprint("after-", i), small)
	}
	for i := range 32 {
		if got := readAll(t, cl, fmt.Sprint("after-", i)); !bytes.Equal(got, small) {
			t.Fatalf("after-%d read back %d bytes, not what was written", i, len(got))
		}
	}

	before := allocs.Load()
	big := payload(3<<20, 2)
	put("big", big) // one chunk, through a pipeline
	if n := allocs.Load() - before; n != 1 {
		t.Fatalf("a 3 MiB Put made %d allocation calls; want its own one", n)
	}
	if got := readAll(t, cl, "big"); !bytes.Equal(got, big) {
		t.Fatalf("big read back %d bytes, not what was written", len(got))
	}
}
