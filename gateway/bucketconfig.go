package gateway

import (
	"context"
	"net/http"

	"github.com/granary-store/granary/client"
)

// The bucket configuration calls (tagging, CORS, lifecycle, versioning,
// object lock) share their shape: a GET renders part of the bucket's
// record, a PUT reads a document and stores it, a DELETE clears it.

// bucketRecord returns the record of the request's bucket for a
// configuration read; when it cannot, it has answered with the error.
func (s *Server) bucketRecord(w http.ResponseWriter, r *http.Request) (client.Bucket, bool) {
	name, err := bucketName(r)
	var b client.Bucket
	if err == nil {
		b, err = s.client.Bucket(r.Context(), name)
	}
	if err != nil {
		s.writeError(w, r, err)
		return client.Bucket{}, false
	}
	return b, true
}

// setBucketConfig answers a configuration's PUT or DELETE: it runs set on
// the request's bucket and answers status, or the error.
func (s *Server) setBucketConfig(w http.ResponseWriter, r *http.Request, status int, set func(ctx context.Context, bucket string) error) {
	name, err := bucketName(r)
	if err == nil {
		err = set(r.Context(), name)
		s.forgetBucket(name)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(status)
}
