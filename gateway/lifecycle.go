package gateway

import (
	"context"
	"net/http"

	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3lifecycle"
	"github.com/granary-store/granary/gateway/s3xml"
	"github.com/granary-store/granary/internal/proto"
)

func (s *Server) getBucketLifecycle(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	if len(b.Lifecycle) == 0 {
		s.writeError(w, r, s3err.New(s3err.NoSuchLifecycleConfiguration, "the lifecycle configuration does not exist"))
		return
	}
	s3xml.Write(w, http.StatusOK, s3lifecycle.Document(b.Lifecycle))
}

func (s *Server) putBucketLifecycle(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusOK, func(ctx context.Context, bucket string) error {
		rules, err := s3lifecycle.Read(r)
		if err != nil {
			return err
		}
		for _, class := range proto.TransitionClasses(rules) {
			if _, mapped, err := s.client.StorageClassPolicy(ctx, class); err != nil {
				return err
			} else if !mapped {
				return s3err.New(s3err.InvalidStorageClass, "the storage class you specified is not valid: %s is not mapped to a data policy on this cluster", class)
			}
		}
		return s.client.SetBucketLifecycle(ctx, bucket, rules)
	})
}

func (s *Server) deleteBucketLifecycle(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusNoContent, func(ctx context.Context, bucket string) error {
		return s.client.SetBucketLifecycle(ctx, bucket, nil)
	})
}
