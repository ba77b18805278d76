package metaapi

import (
	"context"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
)

// commitObject records where the client's pipelines wrote the object's new
// chunks, then applies the commit the client asked for (id is its request
// id, or empty). Recorded first, so that a reader who finds the object the
// moment it is applied also finds its chunks (they are on those servers
// whatever the commit's outcome). It returns the object's version and, in
// a versioned bucket, its S3 version id.
func (a *API) commitObject(ctx context.Context, id string, cmd meta.PutObject, written []proto.ChunkTargets) (uint64, string, error) {
	a.cfg.Written(written) // before: a reader may locate it at once
	v, err := a.p.ApplyRequest(ctx, id, meta.OpPutObject, cmd)
	if err != nil {
		return 0, "", err
	}
	if r, ok := v.(meta.CommitResult); ok {
		return r.Version, r.VersionID, nil
	}
	return v.(uint64), "", nil
}

// putPart records where a multipart upload's part was written, then
// applies the part the client asked for (in this order, as commitObject).
func (a *API) putPart(ctx context.Context, id string, cmd meta.PutPart, written []proto.ChunkTargets) error {
	a.cfg.Written(written)
	_, err := a.p.ApplyRequest(ctx, id, meta.OpPutPart, cmd)
	return err
}
