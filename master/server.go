package master

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/granary-store/granary/internal/chunkclient"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/rpc"
	"github.com/granary-store/granary/master/alloc"
	"github.com/granary-store/granary/master/convert"
	"github.com/granary-store/granary/master/lifecycle"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/raftnet"
	"github.com/granary-store/granary/master/usage"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/granary-store/granary/master/raftlog"
)

// Server is one member of the metadata master group: a Raft voter and its
// state machine (meta.FSM), and, while it leads, the soft state and the
// self-healing built around them (nodes, replicas, healer, allocator),
// served by the HTTP API. Server wires those parts and runs their
// lifecycle; each owns its own state and lock. It is safe for concurrent
// use.
type Server struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	fsm  *meta.FSM
	raft *raft.Raft

	stable   *raftboltdb.BoltStore // Raft's terms and votes (and, before raftlog, its log)
	logs     *raftlog.Store
	logCache *raft.LogCache
	trans    *raft.NetworkTransport
	stream   *raftnet.Stream
	httpLn   net.Listener
	http     *http.Server
	handler  http.Handler // the HTTP API (Handler)
	peers    *peers
	// commit is the commit route's work as a call (metaapi.API.Commit).
	commit func(ctx context.Context, id string, req proto.CommitRequest) (proto.Object, error)

	ready    atomic.Bool // leader whose state includes every earlier term
	live     *liveness
	replicas *replicaMap
	nodes    *nodes
	heal     *healer
	life     *lifecycle.Worker
	conv     *convert.Converter
	alloc    *alloc.Allocator
	metrics  *metrics
	gateways *gateways      // S3 gateways' reports (api_gateways.go)
	counter  *usage.Counter // per-bucket counts

	runOnce   sync.Once
	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
	wg        sync.WaitGroup
}

// New opens the state in cfg.Dir and starts the Raft member. The HTTP API
// serves once Run is called.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, done: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("node", cfg.ID)
	if s.now == nil {
		s.now = time.Now
	}
	s.metrics = newMetrics(s)
	if err := s.open(); err != nil {
		s.Close()
		return nil, err
	}
	a := newAPI(s)
	s.handler, s.commit = a.routes(), a.meta.Commit
	return s, nil
}

// Handler returns the member's HTTP API, as Run serves it on HTTPAddr (the
// same routes, checks and metrics), for a caller in the same process that
// would otherwise call it over loopback (rpc.InProcess). It is also a
// masterclient.Committer: see local.go.
func (s *Server) Handler() http.Handler { return localAPI{s.handler, s} }

// wire builds the parts around the opened state; they propose through
// this member (apply) once it runs.
func (s *Server) wire() {
	s.peers = newPeers(&s.cfg)
	s.live, s.replicas = &liveness{}, &replicaMap{}
	s.nodes = &nodes{fsm: s.fsm, live: s.live, apply: s.apply, now: s.now, deadAfter: s.cfg.DeadAfter}
	s.heal = &healer{
		cfg: &s.cfg, log: s.log.With("component", "repair"), now: s.now, fsm: s.fsm, nodes: s.nodes,
		replicas: s.replicas, apply: s.apply, leader: s.IsLeader, kicks: make(chan struct{}, 1), rearms: make(chan struct{}, 1), closing: s.done,
	}
	s.alloc = alloc.New(alloc.Config{Apply: s.apply, Servers: s.nodes.placement, Holders: s.replicas.holders,
		Renew: s.heal.renew, Safe: s.heal.safeMode})
	s.conv = newConverter(s)
	s.life = lifecycle.New(lifecycle.Config{Logger: s.log.With("component", "lifecycle"), Now: s.now, State: s.fsm,
		Apply: s.apply, Leader: s.IsLeader, NotLeader: ErrNotLeader, Converter: s.conv,
		Interval: s.cfg.LifecycleInterval, Page: s.cfg.LifecyclePage, ApplyTimeout: s.cfg.ApplyTimeout})
	s.gateways = newGateways(s.cfg.GatewayExpiry)
	s.counter = usage.New(usage.Config{Logger: s.log.With("component", "bucketcount"), Now: s.now, State: s.fsm,
		Leader: s.IsLeader, Interval: s.cfg.BucketCountInterval, Rate: s.cfg.BucketCountRate, Replication: s.cfg.Replication})
}

func (s *Server) open() error {
	var err error
	if err = os.MkdirAll(filepath.Join(s.cfg.Dir, "raft"), 0o700); err != nil {
		return fmt.Errorf("master: create dir: %w", err)
	}
	if s.fsm, err = meta.Open(s.cfg.Dir, s.log); err != nil {
		return err
	}
	s.wire()
	if err = s.listen(); err != nil {
		return err
	}
	return s.startRaft()
}

func (s *Server) listen() error {
	ln := s.cfg.RaftListener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.RaftAddr); err != nil {
			return fmt.Errorf("master: listen raft: %w", err)
		}
	}
	if s.cfg.RaftAddr == "" {
		s.cfg.RaftAddr = ln.Addr().String()
	}
	s.stream = raftnet.Open(raftnet.Config{Listener: ln, Self: s.cfg.RaftAddr, Secret: s.cfg.ClusterSecret, TLS: s.cfg.TLS, Logger: s.log})
	s.httpLn = s.cfg.HTTPListener
	if s.httpLn == nil {
		var err error
		if s.httpLn, err = net.Listen("tcp", s.cfg.HTTPAddr); err != nil {
			return fmt.Errorf("master: listen http: %w", err)
		}
	}
	if s.cfg.HTTPAddr == "" {
		s.cfg.HTTPAddr = s.httpLn.Addr().String()
	}
	if s.cfg.TLS != nil {
		api := s.cfg.TLS.Clone()
		api.ClientAuth = tls.VerifyClientCertIfGiven // Authenticate requires one where it matters
		s.httpLn = tls.NewListener(s.httpLn, api)
	}
	return nil
}

// Run serves the HTTP API and the member's background loops until ctx ends
// or Close is called; then it closes the server.
func (s *Server) Run(ctx context.Context) error {
	started := false
	s.runOnce.Do(func() { started = true })
	if !started {
		return errors.New("master: Run called twice")
	}
	s.http = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute,
		ErrorLog: rpc.ErrorLog(s.log)}
	errc := make(chan error, 1)
	s.wg.Add(6)
	go func() { defer s.wg.Done(); errc <- s.http.Serve(s.httpLn) }()
	go func() { defer s.wg.Done(); s.watchLeadership() }()
	go func() { defer s.wg.Done(); s.stepDownWhileFailed() }()
	go func() { defer s.wg.Done(); s.heal.loop(s.done) }()
	go func() { defer s.wg.Done(); s.life.Run(s.done) }()
	go func() { defer s.wg.Done(); s.conv.Run(s.done) }()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.counter.Run(s.done) }()
	if s.cfg.Join != "" {
		s.wg.Add(1)
		go func() { defer s.wg.Done(); s.joinLoop() }()
	}
	s.log.Info("master serving", "http", s.cfg.HTTPAddr, "raft", s.cfg.RaftAddr)
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

// Close stops the member without handing leadership over (a crash, as far
// as the other members can tell, minus the lost disk writes). Idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		var errs []error
		if s.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := ignoreClosed(s.http.Shutdown(ctx)); errors.Is(err, context.DeadlineExceeded) {
				// What is still open after the drain is cut off, as by any
				// process that stops; the stop itself is clean. Usually a
				// connection a client opened but sent nothing on yet (Go's
				// transport dials spares; Shutdown waits 5 s for those).
				s.log.Info("connections still open after 2 s of draining; closing them")
				errs = append(errs, ignoreClosed(s.http.Close()))
			} else {
				errs = append(errs, err)
			}
			cancel()
		} else if s.httpLn != nil {
			errs = append(errs, ignoreClosed(s.httpLn.Close()))
		}
		if s.raft != nil {
			errs = append(errs, s.raft.Shutdown().Error())
		}
		if s.trans != nil {
			errs = append(errs, s.trans.Close())
		} else if s.stream != nil {
			errs = append(errs, s.stream.Close())
		}
		s.wg.Wait()
		if s.logs != nil {
			errs = append(errs, s.logs.Close())
		}
		if s.stable != nil {
			errs = append(errs, s.stable.Close())
		}
		if s.fsm != nil {
			errs = append(errs, s.fsm.Close())
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Addr returns the HTTP API's address.
func (s *Server) Addr() string { return s.cfg.HTTPAddr }

// RaftAddr returns the advertised Raft address.
func (s *Server) RaftAddr() string { return s.cfg.RaftAddr }

// ID returns the member id.
func (s *Server) ID() proto.NodeID { return s.cfg.ID }

// IsLeader reports whether this member leads and has caught up with the
// state of earlier terms (so it may answer consistent reads).
func (s *Server) IsLeader() bool {
	return s.raft.State() == raft.Leader && s.ready.Load() && s.fsm.Failed() == nil
}

// AppliedIndex returns the last Raft index reflected in the state.
func (s *Server) AppliedIndex() uint64 { return s.fsm.Applied() }

// EntriesRun counts the log entries this process ran against the state,
// and EntriesSkipped those Raft replayed that the state already held (a
// restart replays the log after the last snapshot).
func (s *Server) EntriesRun() int64     { return s.fsm.Ran() }
func (s *Server) EntriesSkipped() int64 { return s.fsm.Skipped() }

// SnapshotsRestored counts snapshots installed into the state since start.
func (s *Server) SnapshotsRestored() int64 { return s.fsm.Restores() }

// Snapshot takes a Raft snapshot now and compacts the log behind it.
func (s *Server) Snapshot() error { return s.raft.Snapshot().Error() }

// RepairOnce runs one planning round now: it queues copy and delete
// commands for the servers' next heartbeats, acknowledges finished
// deletions and moves expired orphans to the deletion queue. Tests call it
// to trigger work without waiting for the ticker. It does nothing in safe
// mode.
func (s *Server) RepairOnce(ctx context.Context) error { return s.heal.round(ctx) }

// LifecycleOnce runs one lifecycle step now: it evaluates one page of
// versions or uploads of a bucket with lifecycle rules and applies the
// expirations due at the server's clock. Tests call it to drive the
// worker without waiting for its ticker.
func (s *Server) LifecycleOnce(ctx context.Context) error { return s.life.Step(ctx) }

// LifecycleProgress is the lifecycle worker's progress since this member
// became leader.
func (s *Server) LifecycleProgress() proto.LifecycleStats { return s.life.Progress() }

// newConverter builds the leader's converter of s. Its chunk client calls
// the chunk servers with the cluster's credential; each call is bounded
// by the step's context, and an answer's headers by a minute.
func newConverter(s *Server) *convert.Converter {
	rc := rpc.Config{Secret: s.cfg.ClusterSecret, Insecure: s.cfg.Insecure, TLS: s.cfg.TLS}
	cc := chunkclient.New(rc, rpc.NewClient(rc, rpc.ClientOptions{ResponseHeaderTimeout: time.Minute}))
	cc.Stall = 10 * time.Second
	return convert.New(convert.Config{
		Logger: s.log.With("component", "conversion"), Now: s.now, State: s.fsm, Apply: s.apply,
		Leader: s.IsLeader, NotLeader: ErrNotLeader, Safe: s.heal.safeMode, Renew: s.heal.renew,
		Locate: s.alloc.Locate, Allocate: s.alloc.Allocate, Written: s.replicas.written, Chunks: cc,
		Bandwidth: s.cfg.ConvertBandwidth, After: s.cfg.ConvertAfter, Policy: s.cfg.ConvertPolicy,
		DataPolicy: s.cfg.DataPolicy, Classes: s.cfg.StorageClasses, Interval: s.cfg.ConvertInterval,
		ApplyTimeout: s.cfg.ApplyTimeout,
	})
}

// ConvertOnce runs one conversion step now: a queued lifecycle
// transition, else the next object a pass finds due; it reports whether
// it found work. Like the worker's steps it ends when this member stops
// leading. Tests call it to drive the converter without waiting for its
// ticker.
func (s *Server) ConvertOnce(ctx context.Context) (bool, error) {
	ctx, cancel := s.conv.StepContext(ctx, s.done)
	defer cancel()
	return s.conv.Step(ctx)
}

// ConversionProgress is the converter's progress since this member
// became leader.
func (s *Server) ConversionProgress() proto.ConversionStats { return s.conv.Progress() }

// CountBucketsOnce runs one pass of the bucket counter now (at its rate)
// and returns when every bucket has been counted. Tests call it instead
// of waiting for the interval. On a member that does not lead it counts
// nothing.
func (s *Server) CountBucketsOnce(ctx context.Context) error { return s.counter.Pass(ctx) }

// SetBlocked cuts this member's Raft links to the given peers' Raft
// addresses ("*" for all of them); nil heals. A fault-injection hook for
// tests and drills: client-facing HTTP keeps working.
func (s *Server) SetBlocked(peers []string) { s.stream.SetBlocked(peers) }
