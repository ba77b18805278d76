package testcluster

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
)

// ChunkNode is one chunk server and the directory and address it keeps
// across restarts.
type ChunkNode struct {
	ID   proto.NodeID
	Rack string
	Dir  string
	Addr string

	mu     sync.Mutex
	srv    *chunkserver.Server
	cancel context.CancelFunc
	done   chan error
}

// Server returns the running chunk server, or nil when it is down.
func (n *ChunkNode) Server() *chunkserver.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.srv
}

// ChunkServers returns the chunk servers in id order.
func (c *Cluster) ChunkServers() []*ChunkNode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*ChunkNode(nil), c.chunks...)
}

func (c *Cluster) startChunkServers() {
	for i := range c.opts.ChunkServers {
		racks := max(c.opts.Racks, 1)
		n := &ChunkNode{
			ID: proto.NodeID(fmt.Sprintf("cs%d", i+1)), Rack: fmt.Sprintf("r%d", i%racks+1),
			Dir: filepath.Join(c.chunkRoot, fmt.Sprintf("cs%d", i+1)),
		}
		c.chunks = append(c.chunks, n)
		if err := c.startChunk(n); err != nil {
			c.t.Fatalf("start %s: %v", n.ID, err)
		}
	}
}

func (c *Cluster) startChunk(n *ChunkNode) error {
	ln, err := listen(n.Addr)
	if err != nil {
		return err
	}
	n.Addr = ln.Addr().String()
	cfg := chunkserver.DefaultConfig()
	cfg.ID, cfg.Rack, cfg.Listener, cfg.Masters, cfg.ClusterSecret = n.ID, n.Rack, ln, c.Addrs(), Secret
	cfg.TLS, _ = c.TLS(string(n.ID))
	cfg.Store.Dirs, cfg.Store.NoSync = []string{n.Dir}, true
	cfg.Store.MaxChunkSize = max(c.opts.ChunkSize, 64<<20)
	cfg.HeartbeatInterval, cfg.IdleTimeout = 100*time.Millisecond, 10*time.Second
	cfg.RepairBandwidth, cfg.ScrubInterval = 0, time.Hour
	cfg.Logger = slog.New(slog.NewTextHandler(tWriter{c.t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if c.opts.TuneChunk != nil {
		c.opts.TuneChunk(&cfg)
	}
	srv, err := chunkserver.New(cfg)
	if err != nil {
		ln.Close()
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

// KillChunkServer stops a chunk server; its files stay on disk.
func (c *Cluster) KillChunkServer(n *ChunkNode) {
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

// RestartChunkServer starts a stopped chunk server on its old directory
// and address.
func (c *Cluster) RestartChunkServer(n *ChunkNode) {
	if err := c.startChunk(n); err != nil {
		c.t.Fatalf("restart %s: %v", n.ID, err)
	}
}

// DataClient returns a client library instance for the cluster.
func (c *Cluster) DataClient(tune func(*client.Config)) *client.Client {
	cfg := client.Config{Masters: c.Addrs(), Secret: Secret, TLS: c.ClientTLS(), RequestTimeout: 10 * time.Second}
	if tune != nil {
		tune(&cfg)
	}
	cl, err := client.New(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

// WaitChunkServersAlive waits until the leader reports every running chunk
// server alive with a capacity.
func (c *Cluster) WaitChunkServersAlive() {
	c.WaitFor(30*time.Second, "chunk servers alive", func() bool {
		st, err := c.Client().Status(shortCtx())
		if err != nil {
			return false
		}
		alive := st.AliveChunkServers()
		running := 0
		for _, n := range c.ChunkServers() {
			if n.Server() != nil {
				running++
			}
		}
		return alive == running
	})
}

// AddChunkServer starts one more chunk server (empty) on the given rack.
func (c *Cluster) AddChunkServer(rack string) *ChunkNode {
	c.mu.Lock()
	n := &ChunkNode{ID: proto.NodeID(fmt.Sprintf("cs%d", len(c.chunks)+1)), Rack: rack}
	n.Dir = filepath.Join(c.chunkRoot, string(n.ID))
	c.chunks = append(c.chunks, n)
	c.mu.Unlock()
	if err := c.startChunk(n); err != nil {
		c.t.Fatalf("start %s: %v", n.ID, err)
	}
	return n
}
