package client_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/rpc"
	"github.com/granary-store/granary/internal/testcluster"
)

// TestLocalMasterInProcess: a client whose master address is served in
// its own process (granary server's gateway) makes every master call
// through the handler, none over the network: the address it is given
// does not even listen. The calls are authorized as on the network: with
// the wrong secret they are refused.
func TestLocalMasterInProcess(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 1, ChunkServers: 3, ChunkSize: 4 << 20})
	c.WaitChunkServersAlive()
	h := c.Nodes()[0].Server().Handler()
	var calls atomic.Int64
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.RemoteAddr != rpc.InProcessAddr {
			t.Errorf("in-process call from %q", r.RemoteAddr)
		}
		calls.Add(1)
		h.ServeHTTP(w, r)
	})
	const nowhere = "127.0.0.1:1" // nothing listens there
	cl := c.DataClient(func(cfg *client.Config) {
		cfg.Masters = []string{nowhere}
		cfg.LocalMasters = map[string]http.Handler{nowhere: counted}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.CreateBucket(ctx, "inproc"); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("granary"), 10000)
	if _, err := cl.Put(ctx, "inproc", "k", bytes.NewReader(body), int64(len(body)), nil); err != nil {
		t.Fatal(err)
	}
	rd, err := cl.Get(ctx, "inproc", "k")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rd)
	rd.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	if calls.Load() < 3 { // bucket, allocation, commit, locate at least
		t.Fatalf("%d calls reached the handler", calls.Load())
	}

	bad := c.DataClient(func(cfg *client.Config) {
		cfg.Masters = []string{nowhere}
		cfg.LocalMasters = map[string]http.Handler{nowhere: counted}
		cfg.Secret = "not the cluster secret"
	})
	if err := bad.CreateBucket(ctx, "refused"); err == nil {
		t.Fatal("an in-process call with the wrong secret was accepted")
	}
}
