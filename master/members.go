package master

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
)

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

// addMember adds a voter to the Raft group and records its addresses.
func (s *Server) addMember(ctx context.Context, m meta.Member) error {
	f := s.raft.AddVoter(raft.ServerID(m.ID), raft.ServerAddress(m.RaftAddr), 0, s.cfg.ApplyTimeout)
	if err := f.Error(); err != nil {
		return fmt.Errorf("add voter %s: %v: %w", m.ID, err, ErrUnavailable)
	}
	if _, err := s.apply(ctx, meta.OpSetMember, meta.SetMember{Member: m}); err != nil {
		return err
	}
	s.log.Info("member joined", "member", m.ID, "raft", m.RaftAddr)
	return nil
}

// removeMember removes a voter from the Raft group and its record.
func (s *Server) removeMember(ctx context.Context, id proto.NodeID) error {
	if err := s.raft.RemoveServer(raft.ServerID(id), 0, s.cfg.ApplyTimeout).Error(); err != nil {
		return fmt.Errorf("remove member %s: %v: %w", id, err, ErrUnavailable)
	}
	if id != s.cfg.ID { // a leader that removed itself can no longer apply
		if _, err := s.apply(ctx, meta.OpRemoveMember, meta.RemoveMember{ID: id}); err != nil {
			return err
		}
	}
	s.log.Info("member removed", "member", id)
	return nil
}

// health is this member's answer to a health probe.
func (s *Server) health() proto.Health {
	lid, laddr := s.leaderHTTP()
	return proto.Health{
		ID: s.cfg.ID, State: strings.ToLower(s.raft.State().String()),
		Leader: laddr, LeaderID: lid, Ready: s.IsLeader() || (lid != "" && lid != s.cfg.ID),
		Applied: s.fsm.Applied(),
	}
}

// status is the cluster status the leader reports: Raft, members, chunk
// servers, chunk health and repair.
func (s *Server) status(ctx context.Context) (proto.Status, error) {
	st := proto.Status{
		Leader: s.cfg.ID, Term: s.raft.CurrentTerm(),
		CommitIndex: s.raft.CommitIndex(), AppliedIndex: s.fsm.Applied(),
	}
	var err error
	if st.Members, err = s.memberStates(ctx); err != nil {
		return proto.Status{}, err
	}
	if st.ChunkServers, err = s.nodes.statuses(); err != nil {
		return proto.Status{}, err
	}
	if st.Chunks, err = s.heal.chunkCounts(); err != nil {
		return proto.Status{}, err
	}
	st.Repair = s.heal.repairStats()
	st.Storage = s.heal.storageUsage()
	st.Lifecycle = s.life.Progress()
	st.Conversion = s.conv.Progress()
	st.Gateways = s.gateways.list(s.now())
	st.SafeMode, st.Repair.SafeModeReason = s.heal.safeMode()
	return st, nil
}

// voters counts the voting members of the Raft configuration (0 when it
// cannot be read).
func (s *Server) voters() int {
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return 0
	}
	n := 0
	for _, srv := range f.Configuration().Servers {
		if srv.Suffrage == raft.Voter {
			n++
		}
	}
	return n
}

// memberStates lists the Raft configuration with each voter's state as
// its own health endpoint reports it (unreachable when it does not answer).
func (s *Server) memberStates(ctx context.Context) ([]proto.Member, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("master: raft configuration: %v: %w", err, ErrUnavailable)
	}
	records, err := s.fsm.Members()
	if err != nil {
		return nil, err
	}
	servers := f.Configuration().Servers
	out := make([]proto.Member, len(servers))
	var wg sync.WaitGroup
	for i, srv := range servers {
		id := proto.NodeID(srv.ID)
		out[i] = proto.Member{ID: id, RaftAddr: string(srv.Address), Address: records[id].HTTPAddr, State: "unreachable"}
		if id == s.cfg.ID {
			out[i].State = "leader"
			continue
		}
		wg.Add(1)
		go func(m *proto.Member) {
			defer wg.Done()
			m.State = s.peers.probe(ctx, m.Address)
		}(&out[i])
	}
	wg.Wait()
	return out, nil
}
