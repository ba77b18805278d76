// Package testcluster runs Granary masters in one process on 127.0.0.1
// with real Raft, real Badger, real TCP and temporary directories, and can
// kill, restart and partition them. Logs go to t.Log, so they show only
// when a test fails.
package testcluster

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/internal/chunkclient"
	"github.com/granary-store/granary/internal/masterclient"
	"github.com/granary-store/granary/internal/pki"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/rpc"
	"github.com/granary-store/granary/master"
)

// Secret is the cluster secret every test cluster uses.
const Secret = "test-cluster-secret-0123456789"

// Options shape a cluster.
type Options struct {
	Masters int
	// Tune adjusts each member's configuration before it starts.
	Tune func(*master.Config)
	// ChunkServers to start, spread round-robin over Racks racks.
	ChunkServers int
	Racks        int
	// ChunkSize and Replication configure the masters (0: 1 MiB and 3, or
	// fewer when there are fewer chunk servers).
	ChunkSize   int64
	Replication int
	// TuneChunk adjusts each chunk server's configuration before it starts.
	TuneChunk func(*chunkserver.Config)
	// TLS runs every hop with mutual TLS: a CA in a temporary directory
	// and a certificate from it for each member, chunk server and client
	// (see TLSFiles); the clients the cluster hands out use ClientCert's.
	TLS bool
}

// Cluster is a group of in-process masters.
type Cluster struct {
	t         testing.TB
	opts      Options
	chunkRoot string // chunk servers' folders go under it
	mu        sync.Mutex
	nodes     []*Node
	chunks    []*ChunkNode

	tlsMu     sync.Mutex // guards issuing into certDir
	certDir   string
	ca        *pki.CA     // nil without Options.TLS
	clientTLS *tls.Config // ClientCert's client side
}

// Node is one master and the addresses it keeps across restarts.
type Node struct {
	ID       proto.NodeID
	Dir      string
	RaftAddr string
	HTTPAddr string

	mu     sync.Mutex
	srv    *master.Server
	cancel context.CancelFunc
	done   chan error
}

// Start boots a cluster: member 1 bootstraps, the others join through it.
// It returns once every member is a voter and a leader is ready.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Masters == 0 {
		opts.Masters = 1
	}
	if opts.ChunkSize == 0 {
		opts.ChunkSize = 1 << 20
	}
	if opts.Replication == 0 {
		opts.Replication = min(3, max(opts.ChunkServers, 1))
	}
	root := t.TempDir()
	c := &Cluster{t: t, opts: opts, chunkRoot: filepath.Join(root, "chunks")}
	c.initTLS(root)
	for i := range opts.Masters {
		n := &Node{ID: proto.NodeID(fmt.Sprintf("m%d", i+1)), Dir: filepath.Join(root, fmt.Sprintf("m%d", i+1))}
		c.nodes = append(c.nodes, n)
		join := ""
		if i > 0 {
			join = c.nodes[0].HTTPAddr
		}
		if err := c.start(n, i == 0, join); err != nil {
			t.Fatalf("start %s: %v", n.ID, err)
		}
	}
	t.Cleanup(c.Stop)
	c.WaitFor(30*time.Second, "every member is a voter with a leader", func() bool {
		st, err := c.Client().Status(shortCtx())
		return err == nil && len(st.Members) == opts.Masters && c.allAgreeOnLeader()
	})
	if opts.ChunkServers > 0 {
		c.startChunkServers()
		c.WaitChunkServersAlive()
	}
	return c
}

func shortCtx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	_ = cancel // released by its timer; fine for a test poll
	return ctx
}

// Config returns the test configuration of a member: short Raft timeouts,
// no fsync, logs to t.Log.
func (c *Cluster) Config(n *Node, bootstrap bool, join string) master.Config {
	cfg := master.DefaultConfig()
	cfg.ID, cfg.Dir, cfg.ClusterSecret = n.ID, n.Dir, Secret
	cfg.TLS, _ = c.TLS(string(n.ID))
	cfg.Bootstrap, cfg.Join = bootstrap, join
	cfg.HeartbeatTimeout = 300 * time.Millisecond
	cfg.ElectionTimeout = 300 * time.Millisecond
	cfg.LeaderLeaseTimeout = 200 * time.Millisecond
	cfg.ApplyTimeout = 5 * time.Second
	cfg.NoSync = true
	cfg.ChunkSize, cfg.Replication = c.opts.ChunkSize, c.opts.Replication
	cfg.HeartbeatInterval, cfg.DeadAfter = 100*time.Millisecond, 2*time.Second
	cfg.RepairInterval, cfg.SafeModeTimeout, cfg.CommandTimeout = 100*time.Millisecond, 5*time.Second, 10*time.Second
	cfg.GCDelay = 3 * time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(tWriter{c.t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if c.opts.Tune != nil {
		c.opts.Tune(&cfg)
	}
	return cfg
}

func (c *Cluster) start(n *Node, bootstrap bool, join string) error {
	raftLn, err := listen(n.RaftAddr)
	if err != nil {
		return err
	}
	httpLn, err := listen(n.HTTPAddr)
	if err != nil {
		raftLn.Close()
		return err
	}
	n.RaftAddr, n.HTTPAddr = raftLn.Addr().String(), httpLn.Addr().String()
	cfg := c.Config(n, bootstrap, join)
	cfg.RaftListener, cfg.HTTPListener = raftLn, httpLn
	cfg.RaftAddr, cfg.HTTPAddr = n.RaftAddr, n.HTTPAddr
	srv, err := master.New(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	n.mu.Lock()
	n.srv, n.cancel, n.done = srv, cancel, done
	n.mu.Unlock()
	return nil
}

// listen binds addr, or a fresh port when addr is empty. Rebinding a port
// right after a kill can race with the kernel; retry briefly.
func listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", addr); err == nil {
			return ln, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, fmt.Errorf("listen %s: %w", addr, err)
}

// Nodes returns the members in id order.
func (c *Cluster) Nodes() []*Node { return c.nodes }

// Server returns the running server of n, or nil when it is down.
func (n *Node) Server() *master.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.srv
}

// Addrs returns every member's HTTP address.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, n := range c.nodes {
		out = append(out, n.HTTPAddr)
	}
	return out
}

// Client returns a client that may use any member.
func (c *Cluster) Client() *masterclient.Client {
	cl, err := masterclient.NewRPC(c.Addrs(), c.RPC())
	if err != nil {
		c.t.Fatal(err)
	}
	return cl
}

// RPC is how a test calls the processes of a cluster without TLS
// directly; Cluster.RPC works with TLS too.
func RPC() rpc.Config { return rpc.Config{Secret: Secret} }

// ChunkClient returns a client for the chunk servers' data plane, with
// the cluster secret (and certificate, with TLS).
func (c *Cluster) ChunkClient() *chunkclient.Client {
	hc := rpc.NewClient(c.RPC(), rpc.ClientOptions{})
	c.t.Cleanup(hc.CloseIdleConnections)
	return chunkclient.New(c.RPC(), hc)
}

// PinnedClient returns a client that only talks to n, once per call.
func (c *Cluster) PinnedClient(n *Node) *masterclient.Client {
	cl, err := masterclient.NewRPC([]string{n.HTTPAddr}, c.RPC())
	if err != nil {
		c.t.Fatal(err)
	}
	cl.NoRetry = true
	return cl
}

// Kill stops n abruptly (no leadership hand-over).
func (c *Cluster) Kill(n *Node) {
	n.mu.Lock()
	srv, cancel, done := n.srv, n.cancel, n.done
	n.srv = nil
	n.mu.Unlock()
	if srv == nil {
		return
	}
	cancel()
	if err := <-done; err != nil {
		c.t.Logf("%s stopped with: %v", n.ID, err)
	}
}

// Restart starts a killed member again from its directory.
func (c *Cluster) Restart(n *Node) {
	if err := c.start(n, false, ""); err != nil {
		c.t.Fatalf("restart %s: %v", n.ID, err)
	}
}

// Isolate cuts n's Raft links to every other member (client HTTP stays up).
func (c *Cluster) Isolate(n *Node) {
	if srv := n.Server(); srv != nil {
		srv.SetBlocked([]string{"*"})
	}
	for _, o := range c.nodes {
		if srv := o.Server(); o != n && srv != nil {
			srv.SetBlocked([]string{n.RaftAddr})
		}
	}
}

// Heal removes every Raft link cut.
func (c *Cluster) Heal() {
	for _, n := range c.nodes {
		if srv := n.Server(); srv != nil {
			srv.SetBlocked(nil)
		}
	}
}

// Leader waits for a ready leader and returns it.
func (c *Cluster) Leader() *Node {
	var leader *Node
	c.WaitFor(30*time.Second, "a ready leader", func() bool {
		leader = c.leaderNow()
		return leader != nil
	})
	return leader
}

func (c *Cluster) leaderNow() *Node {
	for _, n := range c.nodes {
		if srv := n.Server(); srv != nil && srv.IsLeader() {
			return n
		}
	}
	return nil
}

func (c *Cluster) allAgreeOnLeader() bool {
	l := c.leaderNow()
	if l == nil {
		return false
	}
	for _, n := range c.nodes {
		if n.Server() == nil {
			continue
		}
		h, err := c.Client().Health(shortCtx(), n.HTTPAddr)
		if err != nil || h.LeaderID != l.ID {
			return false
		}
	}
	return true
}

// WaitFor polls cond until it holds or the timeout passes; on timeout it
// dumps every member's health and fails the test.
func (c *Cluster) WaitFor(timeout time.Duration, what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %v waiting for %s\n%s", timeout, what, c.Dump())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Dump describes every member's view, for failure messages.
func (c *Cluster) Dump() string {
	out := ""
	for _, n := range c.nodes {
		if n.Server() == nil {
			out += fmt.Sprintf("%s: down\n", n.ID)
			continue
		}
		h, err := c.Client().Health(shortCtx(), n.HTTPAddr)
		b, _ := json.Marshal(h)
		out += fmt.Sprintf("%s: %s err=%v applied=%d\n", n.ID, b, err, n.Server().AppliedIndex())
	}
	return out
}

// Stop stops every chunk server and member.
func (c *Cluster) Stop() {
	for _, n := range c.ChunkServers() {
		c.KillChunkServer(n)
	}
	for _, n := range c.nodes {
		c.Kill(n)
	}
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	if _, fuzz := w.t.(*testing.F); fuzz {
		// A cluster a fuzz test shares across its inputs logs nowhere:
		// F.Log panics when called while the fuzz function runs.
		return len(p), nil
	}
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}
