package master

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/internal/metrics"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
)

// routes builds the HTTP API. Every route but health requires the cluster
// secret. Writes and consistent reads run on the leader: a follower
// forwards them (once) and answers NotLeader when it knows no leader.
func (s *Server) routes() http.Handler {
	r := mux.NewRouter()
	r.HandleFunc(proto.RouteHealth, s.handleHealth).Methods(http.MethodGet)
	r.Handle("/metrics", metrics.Handler(s.collectMetrics)).Methods(http.MethodGet)
	// pprof covers the whole process (with granary server: gateway and
	// chunk servers too); it needs the cluster secret.
	r.Handle("/debug/pprof/profile", s.authenticate(http.HandlerFunc(pprof.Profile)))
	r.Handle("/debug/pprof/trace", s.authenticate(http.HandlerFunc(pprof.Trace)))
	r.PathPrefix("/debug/pprof/").Handler(s.authenticate(http.HandlerFunc(pprof.Index)))
	lead := func(path string, h http.HandlerFunc, methods ...string) {
		r.Handle(path, s.authenticate(s.onLeader(h))).Methods(methods...)
	}
	lead(proto.RouteStatus, s.handleStatus, http.MethodGet)
	lead(proto.RouteJoin, s.handleJoin, http.MethodPost)
	lead(proto.RouteMembers+"/{id}", s.handleRemoveMember, http.MethodDelete)
	lead(proto.RouteBuckets, s.handleListBuckets, http.MethodGet)
	lead(proto.RouteBuckets+"/{bucket}", s.handleCreateBucket, http.MethodPut)
	lead(proto.RouteBuckets+"/{bucket}", s.handleGetBucket, http.MethodGet)
	lead(proto.RouteBuckets+"/{bucket}", s.handleDeleteBucket, http.MethodDelete)
	lead(proto.RouteObjectCommit, s.handleCommit, http.MethodPost)
	lead(proto.RouteObjectStat, s.handleStat, http.MethodGet)
	lead(proto.RouteObjectDelete, s.handleDelete, http.MethodPost)
	lead(proto.RouteObjectRename, s.handleRename, http.MethodPost)
	lead(proto.RouteObjectList, s.handleList, http.MethodGet)
	lead(proto.RouteChunkAllocate, s.handleAllocate, http.MethodPost)
	lead(proto.RouteChunkCorrupt, s.handleCorrupt, http.MethodPost)
	lead(proto.RouteChunkRenew, s.handleRenew, http.MethodPost)
	lead(proto.RouteUploads, s.handleListUploads, http.MethodGet)
	lead(proto.RouteUploads+"/create", s.handleCreateUpload, http.MethodPost)
	lead(proto.RouteUploads+"/part", s.handlePutPart, http.MethodPost)
	lead(proto.RouteUploads+"/complete", s.handleCompleteUpload, http.MethodPost)
	lead(proto.RouteUploads+"/abort", s.handleAbortUpload, http.MethodPost)
	lead(proto.RouteUploads+"/parts", s.handleListParts, http.MethodGet)
	lead(proto.RouteObjectLocate, s.handleLocate, http.MethodGet)
	r.Handle(proto.RouteConfig, s.authenticate(http.HandlerFunc(s.handleConfig))).Methods(http.MethodGet)
	lead(proto.RouteChunkServers, s.handleListNodes, http.MethodGet)
	lead(proto.RouteChunkServers, s.handleRegisterNode, http.MethodPost)
	lead(proto.RouteChunkServers+"/heartbeat", s.handleHeartbeat, http.MethodPost)
	lead(proto.RouteChunkServers+"/{id}/decommission", s.handleDecommission, http.MethodPost)
	lead(proto.RouteUsers, s.handleListUsers, http.MethodGet)
	lead(proto.RouteUsers, s.handleCreateUser, http.MethodPost)
	lead(proto.RouteKeys, s.handleCreateKey, http.MethodPost)
	lead(proto.RouteKeys+"/{key}", s.handleGetKey, http.MethodGet)
	lead(proto.RouteKeys+"/{key}", s.handleDeleteKey, http.MethodDelete)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, codeError(proto.CodeNotFound, "no route "+r.Method+" "+r.URL.Path))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &proto.Error{Code: proto.CodeBadRequest, Message: "method " + r.Method + " not allowed on " + r.URL.Path, Status: http.StatusMethodNotAllowed})
	})
	return r
}

func (s *Server) authenticate(next http.Handler) http.Handler {
	want := []byte("Bearer " + s.cfg.ClusterSecret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if !s.cfg.Insecure && subtle.ConstantTimeCompare(got, want) != 1 {
			writeError(w, &proto.Error{Code: proto.CodeUnauthorized, Message: "missing or wrong cluster secret", Status: http.StatusUnauthorized})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, proto.MaxRequestBytes)
		next.ServeHTTP(w, r)
	})
}

// onLeader runs h on the leader; a follower forwards the request. A GET
// with stale=1 is answered from local state by any member (it may miss the
// latest writes).
func (s *Server) onLeader(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Get("stale") == "1" {
			h(w, r.WithContext(context.WithValue(r.Context(), staleKey{}, true)))
			return
		}
		if s.IsLeader() {
			h(w, r)
			return
		}
		s.forward(w, r)
	})
}

type staleKey struct{}

func (s *Server) forward(w http.ResponseWriter, r *http.Request) {
	id, addr := s.leaderHTTP()
	if addr == "" || addr == s.cfg.HTTPAddr || r.Header.Get(proto.HeaderForwarded) != "" {
		writeError(w, &proto.Error{Code: proto.CodeNotLeader, Message: "this member is not the leader and cannot forward; retry", Retryable: true, Leader: addr, Status: http.StatusServiceUnavailable})
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, "http://"+addr+r.URL.RequestURI(), r.Body)
	if err != nil {
		writeError(w, err)
		return
	}
	req.ContentLength = r.ContentLength
	req.Header = r.Header.Clone()
	req.Header.Set(proto.HeaderForwarded, s.cfg.ID)
	resp, err := s.peers.Do(req)
	if err != nil {
		writeError(w, &proto.Error{Code: proto.CodeUnavailable, Message: fmt.Sprintf("forward to leader %s: %v", id, err), Retryable: true, Status: http.StatusServiceUnavailable})
		return
	}
	defer resp.Body.Close()
	for _, h := range []string{"Content-Type", "Content-Length"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// decode reads a JSON body strictly: unknown fields and trailing data are
// errors.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if dec.More() {
		return fmt.Errorf("malformed JSON body: trailing data: %w", ErrInvalid)
	}
	return nil
}

// bodyError classifies a failure to read a request body.
func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return fmt.Errorf("request body exceeds %d bytes: %w", tooBig.Limit, ErrTooLarge)
	case errors.Is(err, proto.ErrRawInlineTooLarge):
		return fmt.Errorf("%v: %w", err, ErrTooLarge)
	case errors.Is(err, proto.ErrRawInline):
		return fmt.Errorf("%v: %w", err, ErrInvalid)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("empty JSON body: %w", errors.Join(ErrInvalid, io.EOF))
	}
	return fmt.Errorf("malformed JSON body: %v: %w", err, ErrInvalid)
}

// decodeObject is decode for a body that may carry an object's inline
// bytes raw (proto.MediaTypeRawInline); they are stored in *inline.
func decodeObject(r *http.Request, v any, inline *[]byte) error {
	if r.Header.Get("Content-Type") != proto.MediaTypeRawInline {
		return decode(r, v)
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	raw, err := proto.ReadRawInline(dec, r.Body, v, proto.MaxInlineBytes)
	if err != nil {
		return bodyError(err)
	}
	if len(*inline) > 0 {
		return fmt.Errorf("inline bytes both in the JSON value and after it: %w", ErrInvalid)
	}
	*inline = raw
	return nil
}

// writeRawInline answers 200 with v as JSON and *inline after it, raw
// (proto.MediaTypeRawInline). It clears *inline, which must point into v.
func writeRawInline(w http.ResponseWriter, v any, inline *[]byte) {
	raw := *inline
	*inline = nil
	body, err := proto.AppendRawInline(make([]byte, 0, 512+len(raw)), v, raw)
	if err != nil {
		writeError(w, fmt.Errorf("encode answer: %w", err))
		return
	}
	w.Header().Set("Content-Type", proto.MediaTypeRawInline)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeError answers err as its error body (errorBody in errors.go).
func writeError(w http.ResponseWriter, err error) {
	var e *proto.Error
	if !errors.As(err, &e) {
		e = errorBody(err)
	}
	writeJSON(w, e.Status, e)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	lid, laddr := s.leaderHTTP()
	writeJSON(w, http.StatusOK, proto.Health{
		ID: s.cfg.ID, State: strings.ToLower(s.raft.State().String()),
		Leader: laddr, LeaderID: lid, Ready: s.IsLeader() || (lid != "" && lid != s.cfg.ID),
		Applied: s.fsm.Applied(),
	})
}

func (s *Server) handleCreateBucket(w http.ResponseWriter, r *http.Request) {
	b := proto.Bucket{}
	if r.ContentLength != 0 {
		if err := decode(r, &b); err != nil && !errors.Is(err, io.EOF) {
			writeError(w, err)
			return
		}
	}
	b.Name = mux.Vars(r)["bucket"]
	b.Created = s.now().UTC().Truncate(time.Millisecond)
	if b.Replication == 0 {
		b.Replication = s.cfg.Replication
	}
	if err := proto.ValidBucketName(b.Name); err != nil {
		writeError(w, err)
		return
	}
	if b.Replication < 1 || b.Replication > 16 || len(b.Location) > 64 || len(b.Owner) > proto.MaxUserNameLen {
		writeError(w, fmt.Errorf("bucket %s: replication must be 1 to 16, location and owner short: %w", b.Name, ErrInvalid))
		return
	}
	if _, err := s.applyRequest(r.Context(), requestID(r), meta.OpCreateBucket, meta.CreateBucket{Bucket: b}); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) handleGetBucket(w http.ResponseWriter, r *http.Request) {
	if !s.consistent(w, r) {
		return
	}
	b, err := s.fsm.Bucket(mux.Vars(r)["bucket"])
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Server) handleListBuckets(w http.ResponseWriter, r *http.Request) {
	if !s.consistent(w, r) {
		return
	}
	bs, err := s.fsm.Buckets()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, bs)
}

func (s *Server) handleDeleteBucket(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["bucket"]
	if err := proto.ValidBucketName(name); err != nil {
		writeError(w, err)
		return
	}
	if _, err := s.applyRequest(r.Context(), requestID(r), meta.OpDeleteBucket, meta.DeleteBucket{Name: name}); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// consistent runs the read barrier and reports whether the handler may
// answer from local state.
func (s *Server) consistent(w http.ResponseWriter, r *http.Request) bool {
	if r.Context().Value(staleKey{}) != nil {
		return true
	}
	if err := s.readBarrier(r.Context()); err != nil {
		if r.Context().Err() != nil {
			err = fmt.Errorf("%v: %w", err, errContext)
		}
		writeError(w, err)
		return false
	}
	return true
}

// requestID is the id a client gave its change (proto.HeaderRequestID), if any.
func requestID(r *http.Request) string { return r.Header.Get(proto.HeaderRequestID) }

func queryInt(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("query parameter %s=%q is not a non-negative integer: %w", name, v, ErrInvalid)
	}
	return n, nil
}
