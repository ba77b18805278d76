package gateway

import (
	"context"
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3cors"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3xml"
	"github.com/granary-store/granary/internal/proto"
)

func (s *Server) getBucketCors(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	if len(b.CORS) == 0 {
		s.writeError(w, r, s3err.New(s3err.NoSuchCORSConfiguration, "the CORS configuration does not exist"))
		return
	}
	s3xml.Write(w, http.StatusOK, s3cors.Document(b.CORS))
}

func (s *Server) putBucketCors(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusOK, func(ctx context.Context, bucket string) error {
		rules, err := s3cors.Read(r)
		if err != nil {
			return err
		}
		return s.client.SetBucketCORS(ctx, bucket, rules)
	})
}

func (s *Server) deleteBucketCors(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusNoContent, func(ctx context.Context, bucket string) error {
		return s.client.SetBucketCORS(ctx, bucket, nil)
	})
}

// preflight answers a CORS preflight (OPTIONS) on a bucket or object from
// the bucket's first matching rule. It needs no signature: browsers send
// none.
func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	origin, method := r.Header.Get("Origin"), r.Header.Get("Access-Control-Request-Method")
	if err := s3cors.CheckPreflight(origin, method); err != nil {
		s.writeError(w, r, err)
		return
	}
	name := mux.Vars(r)["bucket"]
	if proto.ValidBucketName(name) != nil {
		s.writeError(w, r, s3err.New(s3err.AccessForbidden, "CORSResponse: Bucket not found"))
		return
	}
	b, err := s.client.Bucket(r.Context(), name)
	switch {
	case errors.Is(err, client.ErrNoSuchBucket):
		s.writeError(w, r, s3err.New(s3err.AccessForbidden, "CORSResponse: Bucket not found"))
		return
	case err != nil:
		s.writeError(w, r, err)
		return
	case len(b.CORS) == 0:
		s.writeError(w, r, s3err.New(s3err.AccessForbidden, "CORSResponse: CORS is not enabled for this bucket."))
		return
	}
	asked := s3cors.RequestedHeaders(r.Header.Get("Access-Control-Request-Headers"))
	rule := s3cors.Match(b.CORS, origin, method, asked)
	if rule == nil {
		s.writeError(w, r, s3err.New(s3err.AccessForbidden, "%s", s3cors.Forbidden))
		return
	}
	s3cors.SetPreflight(w.Header(), rule, origin, asked)
	w.WriteHeader(http.StatusOK)
}

// corsHeaders adds, to an actual request from a browser (one with an
// Origin header) on a bucket or object, the headers of the bucket's first
// rule that allows its origin and method; with no such rule, none.
func (s *Server) corsHeaders(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	name := mux.Vars(r)["bucket"]
	if origin == "" || proto.ValidBucketName(name) != nil {
		return
	}
	b, err := s.client.Bucket(r.Context(), name)
	if err != nil || len(b.CORS) == 0 {
		return // the handler reports a missing bucket or an unreachable cluster
	}
	if rule := s3cors.Match(b.CORS, origin, r.Method, nil); rule != nil {
		s3cors.SetHeaders(w.Header(), rule, origin)
		w.Header().Set("Vary", "Origin")
	}
}
