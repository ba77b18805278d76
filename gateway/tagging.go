package gateway

import (
	"context"
	"net/http"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3hdr"
	"github.com/granary-store/granary/gateway/s3tags"
	"github.com/granary-store/granary/gateway/s3xml"
	"github.com/granary-store/granary/internal/proto"
)

// taggingTarget reads an object tagging call's object and version.
func taggingTarget(r *http.Request) (bucket, key, vid string, err error) {
	if bucket, key, err = objectName(r); err == nil {
		vid, err = s3hdr.VersionParam(r)
	}
	return
}

func (s *Server) getObjectTagging(w http.ResponseWriter, r *http.Request) {
	bucket, key, vid, err := taggingTarget(r)
	var o client.ObjectInfo
	if err == nil {
		o, err = s.objectInfo(r.Context(), bucket, key, vid)
	}
	if err == nil && o.DeleteMarker {
		err = methodNotAllowed("DeleteMarker")
	}
	if err != nil {
		s.writeError(w, r, versionError(err))
		return
	}
	tags, err := proto.ParseTags(o.Tagging)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setVersionHeader(w, o)
	s3xml.Write(w, http.StatusOK, s3tags.Document(tags))
}

// setTags replaces the tags of the newest version, or of version vid.
func (s *Server) setTags(ctx context.Context, bucket, key, vid string, tags map[string]string) error {
	if vid == "" {
		return s.client.SetTags(ctx, bucket, key, tags)
	}
	return versionError(s.client.SetVersionTags(ctx, bucket, key, vid, tags))
}

func (s *Server) putObjectTagging(w http.ResponseWriter, r *http.Request) {
	bucket, key, vid, err := taggingTarget(r)
	var tags map[string]string
	if err == nil {
		tags, err = s3tags.Read(r, proto.MaxObjectTags)
	}
	if err == nil {
		err = s.setTags(r.Context(), bucket, key, vid, tags)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if vid != "" {
		w.Header().Set("x-amz-version-id", vid)
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) deleteObjectTagging(w http.ResponseWriter, r *http.Request) {
	bucket, key, vid, err := taggingTarget(r)
	if err == nil {
		err = s.setTags(r.Context(), bucket, key, vid, nil)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if vid != "" {
		w.Header().Set("x-amz-version-id", vid)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getBucketTagging(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	if len(b.Tags) == 0 {
		s.writeError(w, r, s3err.New(s3err.NoSuchTagSet, "the TagSet does not exist"))
		return
	}
	s3xml.Write(w, http.StatusOK, s3tags.Document(b.Tags))
}

func (s *Server) putBucketTagging(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusNoContent, func(ctx context.Context, bucket string) error {
		tags, err := s3tags.Read(r, proto.MaxBucketTags)
		if err != nil {
			return err
		}
		return s.client.SetBucketTags(ctx, bucket, tags)
	})
}

func (s *Server) deleteBucketTagging(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusNoContent, func(ctx context.Context, bucket string) error {
		return s.client.SetBucketTags(ctx, bucket, nil)
	})
}
