package master

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/wire"
)

func (a *api) handleJoin(w http.ResponseWriter, r *http.Request) {
	var req proto.JoinRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := proto.ValidID("master", req.ID); err != nil {
		wire.WriteError(w, err)
		return
	}
	if req.RaftAddr == "" || req.HTTPAddr == "" || len(req.RaftAddr) > proto.MaxAddressLen || len(req.HTTPAddr) > proto.MaxAddressLen {
		wire.WriteError(w, fmt.Errorf("join %s: raft and http addresses are required: %w", req.ID, ErrInvalid))
		return
	}
	if err := a.m.addMember(r.Context(), meta.Member{ID: req.ID, RaftAddr: req.RaftAddr, HTTPAddr: req.HTTPAddr}); err != nil {
		wire.WriteError(w, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, map[string]proto.NodeID{"joined": req.ID})
}

func (a *api) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	if err := a.m.removeMember(r.Context(), proto.NodeID(mux.Vars(r)["id"])); err != nil {
		wire.WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) handleStatus(w http.ResponseWriter, r *http.Request) {
	if wire.Stale(r) {
		wire.WriteError(w, wire.CodeError(proto.CodeBadRequest, "status is only served by the leader"))
		return
	}
	if !a.consistent(w, r) {
		return
	}
	st, err := a.m.status(r.Context())
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, st)
}

func (a *api) handleHealth(w http.ResponseWriter, r *http.Request) {
	wire.WriteJSON(w, http.StatusOK, a.m.health())
}

func (a *api) handleListNodes(w http.ResponseWriter, r *http.Request) {
	if !a.consistent(w, r) {
		return
	}
	out, err := a.nodes.statuses()
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, out)
}

func (a *api) handleRegisterNode(w http.ResponseWriter, r *http.Request) {
	var req proto.RegisterRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := proto.ValidID("chunk server", req.ID); err != nil {
		wire.WriteError(w, err)
		return
	}
	if len(req.Rack) > proto.MaxNodeIDLen || req.Address == "" || len(req.Address) > proto.MaxAddressLen {
		wire.WriteError(w, fmt.Errorf("chunk server %s: address of 1 to %d bytes and a rack name of at most %d are required: %w", req.ID, proto.MaxAddressLen, proto.MaxNodeIDLen, ErrInvalid))
		return
	}
	cs, err := a.nodes.register(r.Context(), req)
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, cs)
}

func (a *api) handleDecommission(w http.ResponseWriter, r *http.Request) {
	id := proto.NodeID(mux.Vars(r)["id"])
	if err := proto.ValidID("chunk server", id); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := a.nodes.decommission(r.Context(), id); err != nil {
		wire.WriteError(w, err)
		return
	}
	a.log.Info("decommission started: draining", "server", id)
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) handleHeartbeat(w http.ResponseWriter, r *http.Request) {
	var hb proto.HeartbeatRequest
	if err := wire.Decode(r, &hb); err != nil {
		wire.WriteError(w, err)
		return
	}
	if hb.UsedBytes < 0 || hb.CapacityBytes < 0 || hb.Chunks < 0 {
		wire.WriteError(w, fmt.Errorf("heartbeat from %s: negative counters: %w", hb.ID, ErrInvalid))
		return
	}
	if len(hb.Report)+len(hb.Added)+len(hb.Removed) > proto.MaxReportChunks {
		wire.WriteError(w, fmt.Errorf("heartbeat from %s: report of more than %d chunks: %w", hb.ID, proto.MaxReportChunks, ErrTooLarge))
		return
	}
	reply, err := a.heal.heartbeat(&hb)
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, reply)
}

// handleCommands is a chunk server's long poll for commands: it answers as
// soon as the leader queues work for the server, or after waitMs (at most
// 10 s) with none.
func (a *api) handleCommands(w http.ResponseWriter, r *http.Request) {
	id := proto.NodeID(mux.Vars(r)["id"])
	wait, werr := strconv.Atoi(r.URL.Query().Get("waitMs"))
	if err := proto.ValidID("chunk server", id); err != nil || werr != nil || wait < 0 || wait > 10_000 {
		wire.WriteError(w, fmt.Errorf("command poll: a valid chunk server id and 0 <= waitMs <= 10000: %w", ErrInvalid))
		return
	}
	cmds := a.heal.poll(r.Context(), id, time.Duration(wait)*time.Millisecond)
	wire.WriteJSON(w, http.StatusOK, proto.CommandPoll{Commands: cmds})
}

func (a *api) handleConfig(w http.ResponseWriter, r *http.Request) {
	wire.WriteJSON(w, http.StatusOK, proto.ClusterConfig{
		ChunkSize: a.cfg.ChunkSize, Replication: a.cfg.Replication, InlineThreshold: a.cfg.InlineThreshold,
		OrphanGraceMs: a.cfg.OrphanGrace.Milliseconds(), MasterVoters: a.m.voters(), StorageClasses: a.cfg.StorageClasses,
	})
}
