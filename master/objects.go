package master

import (
	"context"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
)

// commitObject applies an object commit a client asked for (id is its
// request id, or empty) and then records where the client's pipelines
// wrote the object's new chunks. It returns the object's version and, in
// a versioned bucket, its S3 version id.
func (s *Server) commitObject(ctx context.Context, id string, cmd meta.PutObject, written []proto.ChunkTargets) (uint64, string, error) {
	v, err := s.applyRequest(ctx, id, meta.OpPutObject, cmd)
	if err != nil {
		return 0, "", err
	}
	s.replicas.written(written)
	if r, ok := v.(meta.CommitResult); ok {
		return r.Version, r.VersionID, nil
	}
	return v.(uint64), "", nil
}

// putPart applies a multipart upload's part a client asked for, then
// records where its pipelines wrote the part's chunks.
func (s *Server) putPart(ctx context.Context, id string, cmd meta.PutPart, written []proto.ChunkTargets) error {
	if _, err := s.applyRequest(ctx, id, meta.OpPutPart, cmd); err != nil {
		return err
	}
	s.replicas.written(written)
	return nil
}
