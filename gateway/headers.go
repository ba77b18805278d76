package gateway

import (
	"context"
	"errors"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3hdr"
)

// deleteWith deletes bucket/key (or its version vid) under cond. Without
// conditions a missing key is success, as S3 answers; with any, it is
// NoSuchKey. In a versioned bucket a delete without vid makes a delete
// marker (If-Match: * first requires a current object).
func (s *Server) deleteWith(ctx context.Context, bucket, key, vid string, cond s3hdr.DeleteCond) (client.DeleteResult, error) {
	conditional := cond.IfETag != "" || cond.IfSize != nil || cond.IfModified != nil
	if cond.MustExist && vid == "" && !conditional {
		if _, err := s.client.Stat(ctx, bucket, key); err != nil {
			return client.DeleteResult{}, err
		}
	}
	res, err := s.client.DeleteVersion(ctx, bucket, key, vid, client.VersionDeleteOptions{DeleteOptions: cond.DeleteOptions, BypassGovernance: cond.Bypass})
	if errors.Is(err, client.ErrNoSuchKey) && !conditional && !cond.MustExist {
		return res, nil
	}
	return res, err
}
