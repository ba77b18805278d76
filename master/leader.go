package master

import (
	"context"
	"time"

	"github.com/hashicorp/raft"

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
			s.alloc.Reset()
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
		s.life.Reset()
		s.conv.Reset()
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
