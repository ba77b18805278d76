package master

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/raftlog"
)

// startRaft opens the Raft log and snapshot store in cfg.Dir and starts
// this member over the stream layer, bootstrapping a new group when asked.
func (s *Server) startRaft() error {
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(s.cfg.ID)
	rc.HeartbeatTimeout = s.cfg.HeartbeatTimeout
	rc.ElectionTimeout = s.cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = s.cfg.LeaderLeaseTimeout
	rc.CommitTimeout = s.cfg.CommitTimeout
	rc.SnapshotThreshold = s.cfg.SnapshotThreshold
	rc.SnapshotInterval = s.cfg.SnapshotInterval
	rc.TrailingLogs = s.cfg.TrailingLogs
	rc.BatchApplyCh = true
	rc.MaxAppendEntries = 512
	rc.Logger = newHCLogger(s.log)
	rdir := filepath.Join(s.cfg.Dir, "raft")
	var err error
	// Terms and votes stay in the B+tree file that held the whole log up
	// to format change 1 of the log; the entries live in raftlog's
	// segment files (one fdatasync per batch instead of two), moved there
	// from log.db on the first start of a build that has them.
	s.stable, err = raftboltdb.New(raftboltdb.Options{
		Path: filepath.Join(rdir, "log.db"), NoSync: s.cfg.NoSync,
		BoltOptions: &bbolt.Options{Timeout: time.Second, NoFreelistSync: true},
	})
	if err != nil {
		return fmt.Errorf("master: open raft stable store: %w", err)
	}
	s.logs, err = raftlog.OpenMigrating(filepath.Join(rdir, "log"), s.stable, raftlog.Options{NoSync: s.cfg.NoSync, Logger: s.log})
	if err != nil {
		return fmt.Errorf("master: open raft log: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(rdir, 2, rc.Logger)
	if err != nil {
		return fmt.Errorf("master: open snapshot store: %w", err)
	}
	s.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: s.stream, MaxPool: 4, Timeout: 10 * time.Second, Logger: rc.Logger,
	})
	cache, err := raft.NewLogCache(1024, s.logs)
	if err != nil {
		return fmt.Errorf("master: log cache: %w", err)
	}
	s.logCache = cache
	if err := s.bootstrap(rc, cache, snaps); err != nil {
		return err
	}
	if s.raft, err = raft.NewRaft(rc, s.fsm, cache, s.stable, snaps, s.trans); err != nil {
		return fmt.Errorf("master: start raft: %w", err)
	}
	return nil
}

func (s *Server) bootstrap(rc *raft.Config, logs raft.LogStore, snaps raft.SnapshotStore) error {
	if !s.cfg.Bootstrap {
		return nil
	}
	has, err := raft.HasExistingState(logs, s.stable, snaps)
	if err != nil || has {
		return err
	}
	conf := raft.Configuration{Servers: []raft.Server{{
		Suffrage: raft.Voter, ID: rc.LocalID, Address: raft.ServerAddress(s.cfg.RaftAddr),
	}}}
	if err := raft.BootstrapCluster(rc, logs, s.stable, snaps, s.trans, conf); err != nil {
		return fmt.Errorf("master: bootstrap: %w", err)
	}
	s.log.Info("bootstrapped a new master group")
	return nil
}

// apply proposes a command and waits for its result. Errors that say the
// command never reached the log wrap ErrNotLeader; errors after which it may
// still commit wrap ErrUnavailable.
func (s *Server) apply(ctx context.Context, o meta.Op, payload any) (any, error) {
	return s.applyAs(ctx, "", o, payload)
}

// applyRequest is apply for a change a client asked for: when the client
// named it (id, from proto.HeaderRequestID; empty when it did not), the
// change is applied at most once however many attempts of it arrive (see
// meta's dedup.go).
func (s *Server) applyRequest(ctx context.Context, id string, o meta.Op, payload any) (any, error) {
	if id != "" {
		if _, err := proto.ParseRequestID(id); err != nil {
			return nil, fmt.Errorf("master: %w: %v", ErrInvalid, err)
		}
	}
	return s.applyAs(ctx, id, o, payload)
}

func (s *Server) applyAs(ctx context.Context, id string, o meta.Op, payload any) (any, error) {
	if s.raft.State() != raft.Leader {
		return nil, fmt.Errorf("master: apply %v: %w", o, ErrNotLeader)
	}
	start := time.Now()
	defer s.metrics.observeApply(o, start)
	data, err := meta.EncodeRequest(o, s.now(), id, payload)
	if err != nil {
		return nil, err
	}
	return s.propose(ctx, o, data)
}

// propose appends an encoded command to the log and waits for its result.
func (s *Server) propose(ctx context.Context, o meta.Op, data []byte) (any, error) {
	if len(data) > proto.MaxRequestBytes {
		return nil, fmt.Errorf("master: %v command of %d bytes: %w", o, len(data), ErrTooLarge)
	}
	timeout := s.cfg.ApplyTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("master: apply %v: %w", o, context.DeadlineExceeded)
	}
	f := s.raft.Apply(data, timeout)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrEnqueueTimeout) ||
			errors.Is(err, raft.ErrLeadershipTransferInProgress) || errors.Is(err, raft.ErrRaftShutdown) {
			return nil, fmt.Errorf("master: apply %v: %v: %w", o, err, ErrNotLeader)
		}
		return nil, fmt.Errorf("master: apply %v: %v: %w", o, err, ErrUnavailable)
	}
	switch r := f.Response().(type) {
	case meta.Result:
		return r.Val, r.Err
	case error:
		return nil, r
	default:
		return nil, fmt.Errorf("master: apply %v: unexpected response %T: %w", o, r, ErrUnavailable)
	}
}

// readBarrier makes the local state current for a linearizable read: only
// a ready leader passes, it confirms it still leads (a quorum answered
// after the read began), then waits until the commit index seen before that
// confirmation is applied.
func (s *Server) readBarrier(ctx context.Context) error {
	if s.raft.State() != raft.Leader || !s.ready.Load() {
		return fmt.Errorf("master: consistent read: %w", ErrNotLeader)
	}
	ci := s.raft.CommitIndex()
	if err := s.raft.VerifyLeader().Error(); err != nil {
		return fmt.Errorf("master: verify leadership: %v: %w", err, ErrNotLeader)
	}
	return s.fsm.WaitApplied(ctx, s.lastCommandAtOrBelow(ci))
}

// lastCommandAtOrBelow returns the index of the last command entry at or
// below idx. Raft never hands no-op and barrier entries to a batching FSM,
// so the state is current once that command is applied. An entry missing
// from the log was compacted into a snapshot the state already contains.
func (s *Server) lastCommandAtOrBelow(idx uint64) uint64 {
	var l raft.Log
	for i := idx; i > 0 && idx-i < 4096; i-- {
		if err := s.logCache.GetLog(i, &l); err != nil {
			return 0
		}
		if l.Type == raft.LogCommand {
			return i
		}
	}
	return idx
}

// leaderHTTP returns the leader's id and HTTP address, if known.
func (s *Server) leaderHTTP() (id proto.NodeID, addr string) {
	_, lid := s.raft.LeaderWithID()
	if lid == "" {
		return "", ""
	}
	members, err := s.fsm.Members()
	if err != nil {
		return proto.NodeID(lid), ""
	}
	return proto.NodeID(lid), members[proto.NodeID(lid)].HTTPAddr
}

// newHCLogger adapts slog to the hclog interface Raft logs through: each
// call reaches slog once, at its own level, with its message and its
// key-value pairs as attributes (no "[INFO]  raft:" text inside an INFO
// line). hclog's own output is discarded.
func newHCLogger(l *slog.Logger) hclog.Logger {
	il := hclog.NewInterceptLogger(&hclog.LoggerOptions{Name: "raft", Level: hclog.Off, Output: io.Discard})
	il.RegisterSink(slogSink{l.With("component", "raft")})
	return il
}

// slogSink receives every hclog call and passes on those the slog handler
// takes.
type slogSink struct{ l *slog.Logger }

func (s slogSink) Accept(name string, level hclog.Level, msg string, args ...any) {
	lv := slog.LevelInfo
	switch {
	case level >= hclog.Error:
		lv = slog.LevelError
	case level == hclog.Warn:
		lv = slog.LevelWarn
	case level == hclog.Debug:
		lv = slog.LevelDebug
	case level <= hclog.Trace:
		lv = slog.LevelDebug - 4
	}
	ctx := context.Background()
	if !s.l.Enabled(ctx, lv) {
		return
	}
	for i, a := range args {
		if f, ok := a.(hclog.Format); ok && len(f) > 0 { // hclog.Fmt("%+v", x)
			if format, ok := f[0].(string); ok {
				args[i] = fmt.Sprintf(format, f[1:]...)
			}
		}
	}
	if name != "raft" {
		args = append(args, "logger", name)
	}
	s.l.Log(ctx, lv, msg, args...)
}
