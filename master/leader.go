package master

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
)

// watchLeadership tracks leadership changes. A new leader first waits for
// a barrier (so its state holds every entry of earlier terms), records its
// own HTTP address, and only then answers consistent reads.
func (s *Server) watchLeadership() {
	ch := s.raft.LeaderCh()
	for {
		select {
		case <-s.done:
			return
		case leader := <-ch:
			s.ready.Store(false)
			s.alloc.reset()
			s.replicas.reset() // a new leader rebuilds it from full reports
			if leader {
				s.becomeLeader()
			} else {
				s.log.Info("lost leadership")
			}
		}
	}
}

func (s *Server) becomeLeader() {
	start := s.now()
	for s.raft.State() == raft.Leader {
		if err := s.fsm.Failed(); err != nil {
			s.log.Error("elected with a failed state machine; handing leadership over", "err", err)
			s.raft.LeadershipTransfer()
			return
		}
		err := s.raft.Barrier(s.cfg.ApplyTimeout).Error()
		if err == nil {
			err = s.recordMember(meta.Member{ID: s.cfg.ID, RaftAddr: s.cfg.RaftAddr, HTTPAddr: s.cfg.HTTPAddr})
		}
		if err != nil {
			s.log.Warn("leader not ready yet", "err", err)
			select {
			case <-s.done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		s.live.reset()
		s.heal.reset(s.now())
		s.ready.Store(s.raft.State() == raft.Leader)
		s.log.Info("leader ready", "term", s.raft.CurrentTerm(), "took", s.now().Sub(start))
		return
	}
}

// stepDownWhileFailed hands leadership over while this member's state
// machine is failed (a storage error stopped it applying): such a member
// can still win elections, but it must not lead, or the group would stop
// making progress behind it. It keeps voting and storing the log; a
// restart (or a snapshot from the leader) brings its state back.
func (s *Server) stepDownWhileFailed() {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		err := s.fsm.Failed()
		if err == nil || s.raft.State() != raft.Leader {
			continue
		}
		s.ready.Store(false)
		s.log.Error("state machine failed; handing leadership over", "err", err)
		if err := s.raft.LeadershipTransfer().Error(); err != nil {
			s.log.Warn("leadership transfer", "err", err)
		}
	}
}

func (s *Server) recordMember(m meta.Member) error {
	members, err := s.fsm.Members()
	if err != nil {
		return err
	}
	if members[m.ID] == m {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ApplyTimeout)
	defer cancel()
	_, err = s.apply(ctx, meta.OpSetMember, meta.SetMember{Member: m})
	return err
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
func (s *Server) leaderHTTP() (id, addr string) {
	_, lid := s.raft.LeaderWithID()
	if lid == "" {
		return "", ""
	}
	members, err := s.fsm.Members()
	if err != nil {
		return string(lid), ""
	}
	return string(lid), members[string(lid)].HTTPAddr
}

// joinLoop asks the member at cfg.Join to add this one, until it succeeds
// or the server closes.
func (s *Server) joinLoop() {
	backoff := 200 * time.Millisecond
	for {
		err := s.joinOnce()
		if err == nil {
			s.log.Info("joined the master group", "via", s.cfg.Join)
			return
		}
		s.log.Warn("join failed; retrying", "via", s.cfg.Join, "err", err)
		select {
		case <-s.done:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (s *Server) joinOnce() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return s.peers.join(ctx)
}

// newHCLogger adapts slog to the hclog interface Raft logs through.
func newHCLogger(l *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name: "raft", Level: hclog.Info, Output: hclogWriter{l.With("component", "raft")},
		DisableTime: true,
	})
}

type hclogWriter struct{ l *slog.Logger }

func (w hclogWriter) Write(p []byte) (int, error) {
	line := strings.TrimSpace(string(p))
	switch {
	case strings.Contains(line, "[ERROR]"):
		w.l.Error(line)
	case strings.Contains(line, "[WARN]"):
		w.l.Warn(line)
	default:
		w.l.Info(line)
	}
	return len(p), nil
}
