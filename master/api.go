package master

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/rpc"
	"github.com/granary-store/granary/master/alloc"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/metaapi"
	"github.com/granary-store/granary/master/wire"
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
	alloc *alloc.Allocator
	peers *peers
	meta  *metaapi.API // the namespace and access handlers
}

func newAPI(s *Server) *api {
	return &api{
		m: s, cfg: &s.cfg, log: s.log, now: s.now, fsm: s.fsm, nodes: s.nodes,
		heal: s.heal, alloc: s.alloc, peers: s.peers,
		meta: metaapi.New(metaapi.Config{Now: s.now, State: s.fsm, Proposer: proposer{s}, Usage: s.counter,
			Written: s.replicas.written, Replication: s.cfg.Replication, DataPolicy: s.cfg.DataPolicy,
			StorageClasses: s.cfg.StorageClasses}),
	}
}

// proposer is the Raft member as metaapi.Proposer.
type proposer struct{ s *Server }

func (p proposer) Apply(ctx context.Context, o meta.Op, payload any) (any, error) {
	return p.s.apply(ctx, o, payload)
}

func (p proposer) ApplyRequest(ctx context.Context, id string, o meta.Op, payload any) (any, error) {
	return p.s.applyRequest(ctx, id, o, payload)
}

func (p proposer) ReadBarrier(ctx context.Context) error { return p.s.readBarrier(ctx) }

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
	a.meta.Routes(lead) // buckets, objects, uploads, users, keys, access policies
	lead(proto.RouteChunkAllocate, a.handleAllocate, http.MethodPost)
	lead(proto.RouteChunkCorrupt, a.handleCorrupt, http.MethodPost)
	lead(proto.RouteChunkRenew, a.handleRenew, http.MethodPost)
	lead(proto.RouteObjectLocate, a.handleLocate, http.MethodGet)
	r.Handle(proto.RouteConfig, a.peers.authenticate(http.HandlerFunc(a.handleConfig))).Methods(http.MethodGet)
	lead(proto.RouteChunkServers, a.handleListNodes, http.MethodGet)
	lead(proto.RouteChunkServers, a.handleRegisterNode, http.MethodPost)
	lead(proto.RouteChunkServers+"/heartbeat", a.handleHeartbeat, http.MethodPost)
	lead(proto.RouteChunkServers+"/{id}/commands", a.handleCommands, http.MethodGet)
	lead(proto.RouteChunkServers+"/{id}/decommission", a.handleDecommission, http.MethodPost)
	lead(proto.RouteGateways, a.handleListGateways, http.MethodGet)
	lead(proto.RouteGateways+"/report", a.handleGatewayReport, http.MethodPost)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.Web != nil && r.URL.Path != proto.APIPrefix && !strings.HasPrefix(r.URL.Path, proto.APIPrefix+"/") {
			a.cfg.Web.ServeHTTP(w, r)
			return
		}
		wire.WriteError(w, wire.CodeError(proto.CodeNotFound, "no route "+r.Method+" "+r.URL.Path))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wire.WriteError(w, &proto.Error{Code: proto.CodeBadRequest, Message: "method " + r.Method + " not allowed on " + r.URL.Path, Status: http.StatusMethodNotAllowed})
	})
	return rpc.Trace("master", a.log, a.m.metrics.instrument(r)) // Debug line per call, with the caller's request_id
}

// onLeader runs h on the leader; a follower forwards the request. A GET
// with stale=1 is answered from local state by any member (it may miss the
// latest writes).
func (a *api) onLeader(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Get("stale") == "1" {
			h(w, wire.WithStale(r))
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

// consistent runs the read barrier (wire.Consistent).
func (a *api) consistent(w http.ResponseWriter, r *http.Request) bool {
	return wire.Consistent(w, r, a.m.readBarrier)
}
