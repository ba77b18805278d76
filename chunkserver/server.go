package chunkserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/granary-store/granary/chunkserver/disk"
	"github.com/granary-store/granary/internal/chunkclient"
	"github.com/granary-store/granary/internal/masterclient"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/rpc"
)

// Server is a chunk server: a Store, its HTTP data plane, and the loop
// that registers with the master and heartbeats.
type Server struct {
	cfg    Config
	log    *slog.Logger
	store  *disk.Store
	master *masterclient.Client
	rpc    rpc.Config          // calls between processes, both ways
	peers  *chunkclient.Client // pipeline forwarding and repair copies
	ln     net.Listener
	http   *http.Server

	mu           sync.Mutex // guards added, removed and paused
	added        []proto.ChunkID
	removed      []proto.ChunkID
	paused       chan struct{}   // non-nil while paused; closed to resume
	corrupt      []proto.ChunkID // found corrupt since the last heartbeat
	failedCopies []proto.ChunkID // copy commands that failed since then
	cmds         chan proto.Command
	copiesDone   atomic.Int64
	copiedBytes  atomic.Int64
	// reconstructsDone counts shard rebuilds (also counted in copiesDone).
	reconstructsDone atomic.Int64
	// scrubProgress (float64 bits, 0 to 1) and lastFullScrub (Unix ns)
	// describe the scrubber for heartbeats.
	scrubProgress atomic.Uint64
	lastFullScrub atomic.Int64
	repairBW      *bucket       // paces repair copies into this server
	room          *room         // bounds the copied bytes waiting for their commit
	nudge         chan struct{} // asks for an early heartbeat; buffered, 1
	metrics       *metrics

	runOnce   sync.Once
	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
	life      context.Context // canceled by Close: bounds the server's own calls
	endLife   context.CancelFunc
	wg        sync.WaitGroup
}

// commitRoom bounds the bytes of repair copies received and waiting for
// their commit, across a server's copies (see room).
const commitRoom = 64 << 20

// New opens the store and binds the listener.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, done: make(chan struct{}), cmds: make(chan proto.Command, 4096),
		repairBW: newBucket(cfg.RepairBandwidth), room: newRoom(commitRoom), nudge: make(chan struct{}, 1)}
	s.life, s.endLife = context.WithCancel(context.Background())
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("node", cfg.ID)
	if cfg.Store.Logger == nil {
		cfg.Store.Logger = s.log
	}
	if cfg.CapacityLimit > 0 {
		cfg.Store.Capacity = cfg.CapacityLimit
	}
	s.metrics = newMetrics()
	if outer := cfg.Store.ObserveSync; outer != nil {
		cfg.Store.ObserveSync = func(d time.Duration) { outer(d); s.metrics.observeSync(d) }
	} else {
		cfg.Store.ObserveSync = s.metrics.observeSync
	}
	var err error
	if s.store, err = disk.Open(cfg.Store); err != nil {
		return nil, err
	}
	s.metrics.reg.MustRegister(stateCollector{s})
	s.rpc = rpc.Config{Secret: cfg.ClusterSecret, Insecure: cfg.Insecure, TLS: cfg.TLS}
	if s.master, err = masterclient.NewRPC(cfg.Masters, s.rpc); err != nil {
		s.store.Close()
		return nil, err
	}
	s.peers = chunkclient.New(s.rpc, rpc.NewClient(s.rpc, rpc.ClientOptions{
		ResponseHeaderTimeout: cfg.IdleTimeout,
		MaxIdleConnsPerHost:   32,
	}))
	s.peers.Stall = cfg.StallTimeout
	if s.ln = cfg.Listener; s.ln == nil {
		if s.ln, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			s.store.Close()
			return nil, fmt.Errorf("chunkserver: listen: %w", err)
		}
	}
	if s.cfg.Advertise == "" {
		s.cfg.Advertise = s.ln.Addr().String()
	}
	s.ln = s.rpc.Listener(s.ln)
	return s, nil
}

// Addr returns the advertised data-plane address.
func (s *Server) Addr() string { return s.cfg.Advertise }

// ID returns the server id.
func (s *Server) ID() proto.NodeID { return s.cfg.ID }

// CopiesDone counts repair copies this server completed since it started.
func (s *Server) CopiesDone() int64 { return s.copiesDone.Load() }

// Store returns the server's chunk store (for tests and tools).
func (s *Server) Store() *disk.Store { return s.store }

// Run serves the data plane and heartbeats until ctx ends or Close is
// called, then closes the server.
func (s *Server) Run(ctx context.Context) error {
	started := false
	s.runOnce.Do(func() { started = true })
	if !started {
		return errors.New("chunkserver: Run called twice")
	}
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: rpc.ErrorLog(s.log)}
	errc := make(chan error, 1)
	s.wg.Add(6)
	go func() { defer s.wg.Done(); errc <- s.http.Serve(s.ln) }()
	go func() { defer s.wg.Done(); s.heartbeatLoop() }()
	go func() { defer s.wg.Done(); s.runCommands() }()
	go func() { defer s.wg.Done(); s.scrubLoop() }()
	go func() { defer s.wg.Done(); s.sweepLoop() }()
	go func() { defer s.wg.Done(); s.pollCommands() }()
	s.log.Info("chunk server serving", "addr", s.cfg.Advertise, "dirs", s.cfg.Store.Dirs)
	var err error
	select {
	case <-ctx.Done():
	case <-s.done:
	case err = <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	}
	return errors.Join(err, s.Close())
}

// Close stops serving, waits for in-flight requests briefly, and closes the
// store. Idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.endLife()
		var errs []error
		if s.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := s.http.Shutdown(ctx); err != nil {
				s.http.Close()
			}
			cancel()
		} else {
			s.ln.Close()
		}
		s.wg.Wait()
		errs = append(errs, s.store.Close())
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// SetPaused makes the data plane stall every request (keeping its
// connections open, as a stopped process would) until unpaused or the
// request is canceled; heartbeats stop too. A fault-injection hook for
// tests and drills.
func (s *Server) SetPaused(paused bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case paused && s.paused == nil:
		s.paused = make(chan struct{})
	case !paused && s.paused != nil:
		close(s.paused)
		s.paused = nil
	}
}

// waitUnpaused blocks while the server is paused; false if done first.
func (s *Server) waitUnpaused(done <-chan struct{}) bool {
	s.mu.Lock()
	ch := s.paused
	s.mu.Unlock()
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	case <-done:
		return false
	case <-s.done:
		return false
	}
}

// noteAdded and noteRemoved queue changes for the next heartbeat.
func (s *Server) noteAdded(id proto.ChunkID) {
	s.mu.Lock()
	s.added = append(s.added, id)
	s.mu.Unlock()
}

func (s *Server) noteRemoved(id proto.ChunkID) {
	s.mu.Lock()
	s.removed = append(s.removed, id)
	s.mu.Unlock()
}
