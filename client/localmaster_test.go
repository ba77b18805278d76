package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/masterclient"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/reqid"
	"github.com/granary-store/granary/internal/rpc"
	"github.com/granary-store/granary/internal/syncbuf"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
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

// committer counts the direct commits a member of this process took (and
// the ones it handed back to the route), and the calls that reached its
// HTTP handler, by path.
type committer struct {
	http.Handler
	cm                masterclient.Committer
	direct, declined  atomic.Int64
	commitsOverRoutes atomic.Int64
}

func newCommitter(t *testing.T, h http.Handler) *committer {
	cm, ok := h.(masterclient.Committer)
	if !ok {
		t.Fatal("the master's handler takes no direct commits")
	}
	c := &committer{cm: cm}
	c.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == proto.RouteObjectCommit {
			c.commitsOverRoutes.Add(1)
		}
		h.ServeHTTP(w, r)
	})
	return c
}

func (c *committer) CommitObject(ctx context.Context, id string, req proto.CommitRequest) (proto.Object, bool, error) {
	o, ok, err := c.cm.CommitObject(ctx, id, req)
	if ok {
		c.direct.Add(1)
	} else {
		c.declined.Add(1)
	}
	return o, ok, err
}

// TestLocalMasterDirectCommit: with its master in this process, a Put's
// commit is a direct call, not a request to the commit route, and it
// answers as the route does: the same object, and a refused conditional
// commit fails with the route's error (code and status). A member that
// is not the leader declines the direct call, and the commit goes to the
// route, which forwards it to the leader.
func TestLocalMasterDirectCommit(t *testing.T) {
	var logs syncbuf.Buffer
	debug := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := testcluster.Start(t, testcluster.Options{Masters: 3, ChunkServers: 3, ChunkSize: 4 << 20,
		Tune: func(cfg *master.Config) { cfg.Logger = debug }})
	c.WaitChunkServersAlive()
	leader := c.Leader()
	var follower *testcluster.Node
	for _, n := range c.Nodes() {
		if n != leader {
			follower = n
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	through := func(n *testcluster.Node, h http.Handler) *client.Client {
		return c.DataClient(func(cfg *client.Config) {
			cfg.Masters = []string{n.HTTPAddr}
			cfg.LocalMasters = map[string]http.Handler{n.HTTPAddr: h}
		})
	}
	lc := newCommitter(t, leader.Server().Handler())
	direct := through(leader, lc)
	routed := through(leader, lc.Handler) // the HTTP handler alone: no direct calls
	if err := direct.CreateBucket(ctx, "direct"); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("direct commit "), 300)
	put := func(cl *client.Client, key string, opts *client.PutOptions) (client.ObjectInfo, error) {
		return cl.Put(ctx, "direct", key, bytes.NewReader(body), int64(len(body)), opts)
	}
	const rid = "direct-commit-request-id"
	info, err := direct.Put(reqid.With(ctx, rid), "direct", "k", bytes.NewReader(body), int64(len(body)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if line := lineWith(&logs, `"path":"`+proto.RouteObjectCommit+`"`); !strings.Contains(line, `"request_id":"`+rid+`"`) || !strings.Contains(line, `"direct":true`) {
		t.Fatalf("the master's line of the direct commit: %q", line)
	}
	if lc.direct.Load() != 1 || lc.commitsOverRoutes.Load() != 0 {
		t.Fatalf("%d direct commits and %d over the route, want 1 and 0", lc.direct.Load(), lc.commitsOverRoutes.Load())
	}
	stat, err := routed.Stat(ctx, "direct", "k")
	if err != nil {
		t.Fatal(err)
	}
	if stat.ETag != info.ETag || stat.Size != info.Size || stat.Version != info.Version || !stat.Modified.Equal(info.Modified) {
		t.Fatalf("committed directly as %+v, stored as %+v", info, stat)
	}

	// A refused commit fails alike on both paths.
	refusals := map[string]*proto.Error{}
	for name, cl := range map[string]*client.Client{"direct": direct, "route": routed} {
		_, err := put(cl, "k", &client.PutOptions{IfETag: "0123456789abcdef0123456789abcdef"})
		var pe *proto.Error
		if !errors.Is(err, client.ErrPrecondition) || !errors.As(err, &pe) {
			t.Fatalf("%s: conditional put on another ETag: %v", name, err)
		}
		refusals[name] = pe
	}
	if d, r := refusals["direct"], refusals["route"]; d.Code != r.Code || d.Status != r.Status || d.Retryable != r.Retryable {
		t.Fatalf("refused directly as %+v, by the route as %+v", d, r)
	}
	if lc.direct.Load() != 2 || lc.commitsOverRoutes.Load() != 1 {
		t.Fatalf("%d direct commits and %d over the route, want 2 and 1", lc.direct.Load(), lc.commitsOverRoutes.Load())
	}

	fc := newCommitter(t, follower.Server().Handler())
	if _, err := put(through(follower, fc), "f", nil); err != nil {
		t.Fatal(err)
	}
	if fc.declined.Load() != 1 || fc.direct.Load() != 0 || fc.commitsOverRoutes.Load() != 1 {
		t.Fatalf("through a follower: %d declined, %d direct, %d over the route; want 1, 0, 1",
			fc.declined.Load(), fc.direct.Load(), fc.commitsOverRoutes.Load())
	}
	if _, err := routed.Stat(ctx, "direct", "f"); err != nil {
		t.Fatal(err)
	}
}

// lineWith returns the first line of b that contains s, or "".
func lineWith(b *syncbuf.Buffer, s string) string {
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
