package master

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/raft"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
)

func (s *Server) handleJoin(w http.ResponseWriter, r *http.Request) {
	var req proto.JoinRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if err := proto.ValidID("master", req.ID); err != nil {
		writeError(w, err)
		return
	}
	if req.RaftAddr == "" || req.HTTPAddr == "" || len(req.RaftAddr) > proto.MaxAddressLen || len(req.HTTPAddr) > proto.MaxAddressLen {
		writeError(w, fmt.Errorf("join %s: raft and http addresses are required: %w", req.ID, ErrInvalid))
		return
	}
	f := s.raft.AddVoter(raft.ServerID(req.ID), raft.ServerAddress(req.RaftAddr), 0, s.cfg.ApplyTimeout)
	if err := f.Error(); err != nil {
		writeError(w, fmt.Errorf("add voter %s: %v: %w", req.ID, err, ErrUnavailable))
		return
	}
	m := meta.Member{ID: req.ID, RaftAddr: req.RaftAddr, HTTPAddr: req.HTTPAddr}
	if _, err := s.apply(r.Context(), meta.OpSetMember, meta.SetMember{Member: m}); err != nil {
		writeError(w, err)
		return
	}
	s.log.Info("member joined", "member", req.ID, "raft", req.RaftAddr)
	writeJSON(w, http.StatusOK, map[string]string{"joined": req.ID})
}

func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	if err := s.raft.RemoveServer(raft.ServerID(id), 0, s.cfg.ApplyTimeout).Error(); err != nil {
		writeError(w, fmt.Errorf("remove member %s: %v: %w", id, err, ErrUnavailable))
		return
	}
	if id != s.cfg.ID { // a leader that removed itself can no longer apply
		if _, err := s.apply(r.Context(), meta.OpRemoveMember, meta.RemoveMember{ID: id}); err != nil {
			writeError(w, err)
			return
		}
	}
	s.log.Info("member removed", "member", id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	if r.Context().Value(staleKey{}) != nil || !s.consistent(w, r) {
		if r.Context().Value(staleKey{}) != nil {
			writeError(w, codeError(proto.CodeBadRequest, "status is only served by the leader"))
		}
		return
	}
	st := proto.Status{
		Leader: s.cfg.ID, Term: s.raft.CurrentTerm(),
		CommitIndex: s.raft.CommitIndex(), AppliedIndex: s.fsm.Applied(),
	}
	var err error
	if st.Members, err = s.memberStates(r.Context()); err != nil {
		writeError(w, err)
		return
	}
	if st.ChunkServers, err = s.nodes.statuses(); err != nil {
		writeError(w, err)
		return
	}
	if st.Chunks, err = s.heal.chunkCounts(); err != nil {
		writeError(w, err)
		return
	}
	st.Repair = s.heal.repairStats()
	st.SafeMode, st.Repair.SafeModeReason = s.heal.safeMode()
	writeJSON(w, http.StatusOK, st)
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
		id := string(srv.ID)
		out[i] = proto.Member{ID: id, RaftAddr: string(srv.Address), Address: records[id].HTTPAddr, State: "unreachable"}
		if id == s.cfg.ID {
			out[i].State = "leader"
			continue
		}
		wg.Add(1)
		go func(m *proto.Member) {
			defer wg.Done()
			m.State = s.probe(ctx, m.Address)
		}(&out[i])
	}
	wg.Wait()
	return out, nil
}

func (s *Server) probe(ctx context.Context, addr string) string {
	if addr == "" {
		return "unreachable"
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+proto.RouteHealth, nil)
	if err != nil {
		return "unreachable"
	}
	resp, err := s.peers.Do(req)
	if err != nil {
		return "unreachable"
	}
	defer resp.Body.Close()
	var h proto.Health
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&h) != nil {
		return "unreachable"
	}
	if h.State == "leader" { // a deposed leader that has not noticed yet
		return "follower"
	}
	return h.State
}

func (s *Server) handleListNodes(w http.ResponseWriter, r *http.Request) {
	if !s.consistent(w, r) {
		return
	}
	out, err := s.nodes.statuses()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleRegisterNode(w http.ResponseWriter, r *http.Request) {
	var req proto.RegisterRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if err := proto.ValidID("chunk server", req.ID); err != nil {
		writeError(w, err)
		return
	}
	if len(req.Rack) > proto.MaxNodeIDLen || req.Address == "" || len(req.Address) > proto.MaxAddressLen {
		writeError(w, fmt.Errorf("chunk server %s: address of 1 to %d bytes and a rack name of at most %d are required: %w", req.ID, proto.MaxAddressLen, proto.MaxNodeIDLen, ErrInvalid))
		return
	}
	cs, err := s.nodes.register(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, cs)
}

func (s *Server) handleDecommission(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	if err := proto.ValidID("chunk server", id); err != nil {
		writeError(w, err)
		return
	}
	if err := s.nodes.decommission(r.Context(), id); err != nil {
		writeError(w, err)
		return
	}
	s.log.Info("decommission started: draining", "server", id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleHeartbeat(w http.ResponseWriter, r *http.Request) {
	var hb proto.HeartbeatRequest
	if err := decode(r, &hb); err != nil {
		writeError(w, err)
		return
	}
	if hb.UsedBytes < 0 || hb.CapacityBytes < 0 || hb.Chunks < 0 {
		writeError(w, fmt.Errorf("heartbeat from %s: negative counters: %w", hb.ID, ErrInvalid))
		return
	}
	if len(hb.Report)+len(hb.Added)+len(hb.Removed) > proto.MaxReportChunks {
		writeError(w, fmt.Errorf("heartbeat from %s: report of more than %d chunks: %w", hb.ID, proto.MaxReportChunks, ErrTooLarge))
		return
	}
	reply, err := s.heal.heartbeat(&hb)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, reply)
}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	if !s.consistent(w, r) {
		return
	}
	us, err := s.fsm.Users()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, us)
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var req proto.CreateUserRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if err := proto.ValidID("user", req.Name); err != nil {
		writeError(w, err)
		return
	}
	u := proto.User{Name: req.Name, Created: s.now().UTC().Truncate(time.Millisecond)}
	if _, err := s.apply(r.Context(), meta.OpPutUser, meta.PutUser{User: u}); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Server) handleCreateKey(w http.ResponseWriter, r *http.Request) {
	var req proto.CreateKeyRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	k := proto.AccessKey{AccessKey: req.AccessKey, SecretKey: req.SecretKey, User: req.User, Created: s.now().UTC().Truncate(time.Millisecond)}
	if k.AccessKey == "" {
		k.AccessKey = "GR" + randomString(18, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
	}
	if k.SecretKey == "" {
		k.SecretKey = randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
	}
	if _, err := s.apply(r.Context(), meta.OpPutKey, meta.PutKey{Key: k}); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}

func (s *Server) handleGetKey(w http.ResponseWriter, r *http.Request) {
	if !s.consistent(w, r) {
		return
	}
	k, err := s.fsm.AccessKey(mux.Vars(r)["key"])
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}

func (s *Server) handleDeleteKey(w http.ResponseWriter, r *http.Request) {
	if _, err := s.apply(r.Context(), meta.OpDeleteKey, meta.DeleteKey{AccessKey: mux.Vars(r)["key"]}); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// randomString returns n characters drawn uniformly from alphabet.
func randomString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[randIntn(len(alphabet))]
	}
	return string(b)
}

func randIntn(n int) int {
	var b [1]byte
	for {
		rand.Read(b[:])
		if int(b[0]) < 256-256%n {
			return int(b[0]) % n
		}
	}
}
