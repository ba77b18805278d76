package master

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/rpc"
	"github.com/granary-store/granary/master/meta"
)

// api is the HTTP API. Its handlers decode a request, make one call on
// the part of the master that owns the answer (the Raft member m, the
// state, the healer, the allocator, the nodes view) and encode the result.
// It holds no state of its own.
type api struct {
	m     *Server // the Raft member: proposals, consistent reads, membership
	cfg   *Config
	log   *slog.Logger
	now   func() time.Time
	fsm   *meta.FSM
	nodes *nodes
	heal  *healer
	alloc *allocator
	peers *peers
}

func newAPI(s *Server) *api {
	return &api{
		m: s, cfg: &s.cfg, log: s.log, now: s.now, fsm: s.fsm, nodes: s.nodes,
		heal: s.heal, alloc: s.alloc, peers: s.peers,
	}
}

// routes builds the HTTP API. Every route but health requires the cluster
// secret. Writes and consistent reads run on the leader: a follower
// forwards them (once) and answers NotLeader when it knows no leader.
func (a *api) routes() http.Handler {
	r := mux.NewRouter()
	r.HandleFunc(proto.RouteHealth, a.handleHealth).Methods(http.MethodGet)
	r.Handle("/metrics", a.m.metrics.handler()).Methods(http.MethodGet)
	// pprof covers the whole process (with granary server: gateway and
	// chunk servers too); it needs the cluster secret.
	r.Handle("/debug/pprof/profile", a.peers.authenticate(http.HandlerFunc(pprof.Profile)))
	r.Handle("/debug/pprof/trace", a.peers.authenticate(http.HandlerFunc(pprof.Trace)))
	r.PathPrefix("/debug/pprof/").Handler(a.peers.authenticate(http.HandlerFunc(pprof.Index)))
	lead := func(path string, h http.HandlerFunc, methods ...string) {
		r.Handle(path, a.peers.authenticate(a.onLeader(h))).Methods(methods...)
	}
	lead(proto.RouteStatus, a.handleStatus, http.MethodGet)
	lead(proto.RouteJoin, a.handleJoin, http.MethodPost)
	lead(proto.RouteMembers+"/{id}", a.handleRemoveMember, http.MethodDelete)
	lead(proto.RouteBuckets, a.handleListBuckets, http.MethodGet)
	lead(proto.RouteBuckets+"/{bucket}", a.handleCreateBucket, http.MethodPut)
	lead(proto.RouteBuckets+"/{bucket}", a.handleGetBucket, http.MethodGet)
	lead(proto.RouteBuckets+"/{bucket}", a.handleDeleteBucket, http.MethodDelete)
	lead(proto.RouteObjectCommit, a.handleCommit, http.MethodPost)
	lead(proto.RouteObjectStat, a.handleStat, http.MethodGet)
	lead(proto.RouteObjectDelete, a.handleDelete, http.MethodPost)
	lead(proto.RouteObjectRename, a.handleRename, http.MethodPost)
	lead(proto.RoutePrefixRename, a.handleRenamePrefix, http.MethodPost)
	lead(proto.RouteReplaceExtents, a.handleReplaceExtents, http.MethodPost)
	lead(proto.RouteObjectMeta, a.handleSetMeta, http.MethodPost)
	lead(proto.RouteObjectList, a.handleList, http.MethodGet)
	lead(proto.RouteObjectTags, a.handleTags, http.MethodPost)
	lead(proto.RouteBucketConfig, a.handleBucketConfig, http.MethodPost)
	lead(proto.RouteVersioning, a.handleVersioning, http.MethodPost)
	lead(proto.RouteObjectVersions, a.handleVersions, http.MethodGet)
	lead(proto.RouteObjectLock, a.handleLock, http.MethodPost)
	lead(proto.RouteChunkAllocate, a.handleAllocate, http.MethodPost)
	lead(proto.RouteChunkCorrupt, a.handleCorrupt, http.MethodPost)
	lead(proto.RouteChunkRenew, a.handleRenew, http.MethodPost)
	lead(proto.RouteUploads, a.handleListUploads, http.MethodGet)
	lead(proto.RouteUploads+"/create", a.handleCreateUpload, http.MethodPost)
	lead(proto.RouteUploads+"/part", a.handlePutPart, http.MethodPost)
	lead(proto.RouteUploads+"/complete", a.handleCompleteUpload, http.MethodPost)
	lead(proto.RouteUploads+"/abort", a.handleAbortUpload, http.MethodPost)
	lead(proto.RouteUploads+"/parts", a.handleListParts, http.MethodGet)
	lead(proto.RouteObjectLocate, a.handleLocate, http.MethodGet)
	r.Handle(proto.RouteConfig, a.peers.authenticate(http.HandlerFunc(a.handleConfig))).Methods(http.MethodGet)
	lead(proto.RouteChunkServers, a.handleListNodes, http.MethodGet)
	lead(proto.RouteChunkServers, a.handleRegisterNode, http.MethodPost)
	lead(proto.RouteChunkServers+"/heartbeat", a.handleHeartbeat, http.MethodPost)
	lead(proto.RouteChunkServers+"/{id}/commands", a.handleCommands, http.MethodGet)
	lead(proto.RouteChunkServers+"/{id}/decommission", a.handleDecommission, http.MethodPost)
	lead(proto.RouteUsers, a.handleListUsers, http.MethodGet)
	lead(proto.RouteUsers, a.handleCreateUser, http.MethodPost)
	lead(proto.RouteKeys, a.handleCreateKey, http.MethodPost)
	lead(proto.RouteKeys, a.handleListKeys, http.MethodGet)
	lead(proto.RouteKeys+"/{key}", a.handleGetKey, http.MethodGet)
	lead(proto.RouteKeys+"/{key}", a.handleDeleteKey, http.MethodDelete)
	lead(proto.RouteKeys+"/{key}/status", a.handleKeyStatus, http.MethodPost)
	lead(proto.RouteAttach, a.handleAttach, http.MethodPost)
	lead(proto.RouteUsers+"/{name}", a.handleGetUser, http.MethodGet)
	lead(proto.RouteUsers+"/{name}", a.handleDeleteUser, http.MethodDelete)
	lead(proto.RouteAccessPolicies, a.handleListAccessPolicies, http.MethodGet)
	lead(proto.RouteAccessPolicies, a.handlePutAccessPolicy, http.MethodPost)
	lead(proto.RouteAccessPolicies+"/{name}", a.handleGetAccessPolicy, http.MethodGet)
	lead(proto.RouteAccessPolicies+"/{name}", a.handleDeleteAccessPolicy, http.MethodDelete)
	lead(proto.RouteIdentity+"/{key}", a.handleIdentity, http.MethodGet)
	lead(proto.RouteObjectACL, a.handleObjectACL, http.MethodPost)
	lead(proto.RouteGateways, a.handleListGateways, http.MethodGet)
	lead(proto.RouteGateways+"/report", a.handleGatewayReport, http.MethodPost)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.Web != nil && r.URL.Path != proto.APIPrefix && !strings.HasPrefix(r.URL.Path, proto.APIPrefix+"/") {
			a.cfg.Web.ServeHTTP(w, r)
			return
		}
		writeError(w, codeError(proto.CodeNotFound, "no route "+r.Method+" "+r.URL.Path))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &proto.Error{Code: proto.CodeBadRequest, Message: "method " + r.Method + " not allowed on " + r.URL.Path, Status: http.StatusMethodNotAllowed})
	})
	return rpc.Trace("master", a.log, a.m.metrics.instrument(r)) // Debug line per call, with the caller's request_id
}

// onLeader runs h on the leader; a follower forwards the request. A GET
// with stale=1 is answered from local state by any member (it may miss the
// latest writes).
func (a *api) onLeader(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Get("stale") == "1" {
			h(w, r.WithContext(context.WithValue(r.Context(), staleKey{}, true)))
			return
		}
		if a.m.IsLeader() {
			h(w, r)
			return
		}
		id, addr := a.m.leaderHTTP()
		a.peers.forward(w, r, id, addr)
	})
}

type staleKey struct{}

// consistent runs the read barrier and reports whether the handler may
// answer from local state.
func (a *api) consistent(w http.ResponseWriter, r *http.Request) bool {
	if r.Context().Value(staleKey{}) != nil {
		return true
	}
	if err := a.m.readBarrier(r.Context()); err != nil {
		if r.Context().Err() != nil {
			err = fmt.Errorf("%v: %w", err, errContext)
		}
		writeError(w, err)
		return false
	}
	return true
}
