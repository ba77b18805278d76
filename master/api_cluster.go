package master

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
)

func (a *api) handleJoin(w http.ResponseWriter, r *http.Request) {
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
	if err := a.m.addMember(r.Context(), meta.Member{ID: req.ID, RaftAddr: req.RaftAddr, HTTPAddr: req.HTTPAddr}); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"joined": req.ID})
}

func (a *api) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	if err := a.m.removeMember(r.Context(), mux.Vars(r)["id"]); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) handleStatus(w http.ResponseWriter, r *http.Request) {
	if r.Context().Value(staleKey{}) != nil {
		writeError(w, codeError(proto.CodeBadRequest, "status is only served by the leader"))
		return
	}
	if !a.consistent(w, r) {
		return
	}
	st, err := a.m.status(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (a *api) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.m.health())
}

func (a *api) handleListNodes(w http.ResponseWriter, r *http.Request) {
	if !a.consistent(w, r) {
		return
	}
	out, err := a.nodes.statuses()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *api) handleRegisterNode(w http.ResponseWriter, r *http.Request) {
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
	cs, err := a.nodes.register(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, cs)
}

func (a *api) handleDecommission(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	if err := proto.ValidID("chunk server", id); err != nil {
		writeError(w, err)
		return
	}
	if err := a.nodes.decommission(r.Context(), id); err != nil {
		writeError(w, err)
		return
	}
	a.log.Info("decommission started: draining", "server", id)
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) handleHeartbeat(w http.ResponseWriter, r *http.Request) {
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
	reply, err := a.heal.heartbeat(&hb)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, reply)
}

func (a *api) handleListUsers(w http.ResponseWriter, r *http.Request) {
	if !a.consistent(w, r) {
		return
	}
	us, err := a.fsm.Users()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, us)
}

func (a *api) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var req proto.CreateUserRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if err := proto.ValidID("user", req.Name); err != nil {
		writeError(w, err)
		return
	}
	u := proto.User{Name: req.Name, Created: a.now().UTC().Truncate(time.Millisecond)}
	if _, err := a.m.apply(r.Context(), meta.OpPutUser, meta.PutUser{User: u}); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (a *api) handleCreateKey(w http.ResponseWriter, r *http.Request) {
	var req proto.CreateKeyRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	k := proto.AccessKey{AccessKey: req.AccessKey, SecretKey: req.SecretKey, User: req.User, Created: a.now().UTC().Truncate(time.Millisecond)}
	if k.AccessKey == "" {
		k.AccessKey = "GR" + randomString(18, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
	}
	if k.SecretKey == "" {
		k.SecretKey = randomString(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
	}
	if _, err := a.m.apply(r.Context(), meta.OpPutKey, meta.PutKey{Key: k}); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}

func (a *api) handleGetKey(w http.ResponseWriter, r *http.Request) {
	if !a.consistent(w, r) {
		return
	}
	k, err := a.fsm.AccessKey(mux.Vars(r)["key"])
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}

func (a *api) handleDeleteKey(w http.ResponseWriter, r *http.Request) {
	if _, err := a.m.apply(r.Context(), meta.OpDeleteKey, meta.DeleteKey{AccessKey: mux.Vars(r)["key"]}); err != nil {
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
