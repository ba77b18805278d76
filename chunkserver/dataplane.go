package chunkserver

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/chunkserver/disk"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/reqid"
	"github.com/granary-store/granary/internal/rpc"
)

func (s *Server) routes() http.Handler {
	r := mux.NewRouter()
	r.HandleFunc(proto.RouteHealth, func(w http.ResponseWriter, _ *http.Request) {
		rpc.WriteJSON(w, http.StatusOK, map[string]string{"id": string(s.cfg.ID), "state": "serving"})
	}).Methods(http.MethodGet)
	r.Handle("/metrics", s.metrics.handler()).Methods(http.MethodGet)
	r.Handle(proto.RouteChunkBatch, s.auth(s.handleBatchRead)).Methods(http.MethodPost)
	chunk := proto.RouteChunkData + "/{id:[0-9]+}"
	r.Handle(chunk, s.auth(timed(s.metrics.writeSeconds, s.handleWrite))).Methods(http.MethodPut)
	r.Handle(chunk, s.auth(timed(s.metrics.readSeconds, s.handleRead))).Methods(http.MethodGet)
	r.Handle(chunk, s.auth(s.handleDelete)).Methods(http.MethodDelete)
	r.Handle(chunk+"/stat", s.auth(s.handleStat)).Methods(http.MethodGet)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &proto.Error{Code: proto.CodeNotFound, Message: "no route " + r.Method + " " + r.URL.Path, Status: http.StatusNotFound})
	})
	return r
}

// auth stalls a request while the server is paused, then lets it through
// only with the cluster secret (rpc.Config.Authenticate). With cluster TLS
// the caller has already shown a certificate from the cluster CA: the
// listener refuses connections without one. The caller's request id is in
// the request's context (reqid), so pipeline calls to the next server
// carry it on.
func (s *Server) auth(h http.HandlerFunc) http.Handler {
	checked := rpc.Trace("chunkserver", s.log, s.rpc.Authenticate(h)) // a Debug line per call, with the caller's request_id
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.waitUnpaused(r.Context().Done()) {
			return
		}
		checked.ServeHTTP(w, r)
	})
}

func chunkID(r *http.Request) (proto.ChunkID, error) {
	id, err := strconv.ParseUint(mux.Vars(r)["id"], 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("chunk id %q: %w", mux.Vars(r)["id"], errBadRequest)
	}
	return proto.ChunkID(id), nil
}

func (s *Server) handleStat(w http.ResponseWriter, r *http.Request) {
	id, err := chunkID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	info, err := s.store.Stat(uint64(id))
	if err != nil {
		writeError(w, err)
		return
	}
	rpc.WriteJSON(w, http.StatusOK, proto.ChunkStat{Chunk: proto.ChunkID(info.ID), Size: info.Size})
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	id, err := chunkID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := s.store.Delete(uint64(id)); err != nil {
		s.metrics.diskError("delete", err)
		writeError(w, err)
		return
	}
	s.noteRemoved(id)
	w.WriteHeader(http.StatusNoContent)
}

// handleRead streams a verified byte range (Reader.copyTo, pooled and
// block-aligned). Errors found before the first byte get an error status; a
// failure later cuts the body short and names the cause in the status
// trailer.
func (s *Server) handleRead(w http.ResponseWriter, r *http.Request) {
	id, err := chunkID(r)
	if err != nil {
		writeError(w, err)
		return
	}
	rd, err := s.store.Open(uint64(id))
	if err != nil {
		s.metrics.diskError("read", err)
		writeError(w, err)
		return
	}
	defer rd.Close()
	off, n, err := parseRange(r, rd.Size())
	if err != nil {
		writeError(w, err)
		return
	}
	out := &rangeWriter{w: w, rc: http.NewResponseController(w), idle: s.cfg.IdleTimeout}
	sent, err := rd.CopyTo(out, off, n)
	s.metrics.readBytes.Add(float64(sent))
	if err != nil && errors.Is(err, disk.ErrCorrupt) {
		s.noteCorrupt(id)
	}
	if out.writeErr == nil { // else the reader went away
		s.metrics.diskError("read", err)
	}
	switch {
	case err != nil && !out.started:
		writeError(w, err)
		return
	case err != nil && out.writeErr != nil:
		w.Header().Set(proto.TrailerStatus, "Aborted: "+out.writeErr.Error())
	case err != nil:
		reqid.Logger(r.Context(), s.log).Warn("read chunk", "chunk", id, "err", err) // with the S3 request id, if any
		w.Header().Set(proto.TrailerStatus, string(codeOf(err))+": "+err.Error())
	default:
		out.start() // an empty range writes no bytes
		w.Header().Set(proto.TrailerStatus, "ok")
	}
}

// rangeWriter answers 200 with the status trailer declared just before the
// first byte, so a failure found earlier can still get an error status, and
// keeps the write deadline moving.
type rangeWriter struct {
	w        http.ResponseWriter
	rc       *http.ResponseController
	idle     time.Duration
	started  bool
	writeErr error // the client went away
}

func (rw *rangeWriter) start() {
	if !rw.started {
		rw.started = true
		rw.w.Header().Set("Trailer", proto.TrailerStatus)
		rw.w.Header().Set("Content-Type", "application/octet-stream")
		rw.w.WriteHeader(http.StatusOK)
	}
}

func (rw *rangeWriter) Write(p []byte) (int, error) {
	rw.start()
	rw.rc.SetWriteDeadline(time.Now().Add(rw.idle))
	n, err := rw.w.Write(p)
	if err != nil {
		rw.writeErr = err
	}
	return n, err
}

func parseRange(r *http.Request, size int64) (off, n int64, err error) {
	q := r.URL.Query()
	off, n = 0, size
	if v := q.Get("offset"); v != "" {
		if off, err = strconv.ParseInt(v, 10, 64); err != nil {
			return 0, 0, fmt.Errorf("offset %q: %w", v, disk.ErrRange)
		}
	}
	n = size - off
	if v := q.Get("length"); v != "" {
		if n, err = strconv.ParseInt(v, 10, 64); err != nil {
			return 0, 0, fmt.Errorf("length %q: %w", v, disk.ErrRange)
		}
	}
	if off < 0 || n < 0 || off > size || n > size-off {
		return 0, 0, fmt.Errorf("range [%d,+%d) of a %d-byte chunk: %w", off, n, size, disk.ErrRange)
	}
	return off, n, nil
}
