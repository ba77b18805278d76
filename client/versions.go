package client

import (
	"context"
	"fmt"

	"github.com/granary-store/granary/internal/proto"
)

// Bucket versioning states (Bucket.Versioning) and the null version id.
const (
	VersioningEnabled   = proto.VersioningEnabled
	VersioningSuspended = proto.VersioningSuspended
	NullVersion         = proto.NullVersion
)

// DeleteResult is what a delete did in a versioned bucket or by version
// id: the delete marker it made, or the version it removed.
type DeleteResult = proto.DeleteResult

// VersionsRequest selects a page of object versions.
type VersionsRequest = proto.VersionsRequest

// VersionsResult is one page of object versions; pass NextKeyMarker and
// NextVersionIDMarker as the next request's markers while IsTruncated.
type VersionsResult = proto.VersionsResult

// ObjectVersion is one version in a listing.
type ObjectVersion = proto.ObjectVersion

// SetVersioning sets a bucket's versioning state: VersioningEnabled or
// VersioningSuspended (a bucket once versioned cannot go back).
func (c *Client) SetVersioning(ctx context.Context, bucket, status string) error {
	return classify(c.master.SetVersioning(ctx, bucket, status))
}

// DeleteVersion removes an object as Delete does, or, with a versionID,
// that version of it for good, when the conditions in opts hold. In a
// versioned bucket a delete without a version id makes a delete marker;
// the result names it. A malformed version id is ErrBadRequest; a version
// that does not exist is no error.
func (c *Client) DeleteVersion(ctx context.Context, bucket, key, versionID string, opts VersionDeleteOptions) (DeleteResult, error) {
	if err := validBucketKey(bucket, key); err != nil {
		return DeleteResult{}, err
	}
	res, err := c.master.DeleteVersioned(ctx, proto.DeleteRequest{Bucket: bucket, Key: key, VersionID: versionID,
		IfETag: opts.IfETag, IfSize: opts.IfSize, IfModified: opts.IfModified, BypassGovernance: opts.BypassGovernance})
	return res, classify(err)
}

// VersionDeleteOptions are DeleteVersion's conditions, and whether a
// removal by version id bypasses a GOVERNANCE retention (a version an
// object lock keeps is ErrLocked).
type VersionDeleteOptions struct {
	DeleteOptions
	BypassGovernance bool
}

// OpenVersion opens one version of an object by id; a version that does
// not exist is ErrNotFound. The version may be a delete marker
// (Info().DeleteMarker), which has no bytes.
func (c *Client) OpenVersion(ctx context.Context, bucket, key, versionID string) (*Object, error) {
	return c.openLocated(ctx, bucket, key, versionID, false)
}

// Latest returns an object's newest version, a delete marker when one is
// newest; ErrNoSuchKey when it has no version.
func (c *Client) Latest(ctx context.Context, bucket, key string) (ObjectInfo, error) {
	o, err := c.openLocated(ctx, bucket, key, "", true)
	if err != nil {
		return ObjectInfo{}, err
	}
	return o.info, nil
}

func (c *Client) openLocated(ctx context.Context, bucket, key, versionID string, latest bool) (*Object, error) {
	if err := validBucketKey(bucket, key); err != nil {
		return nil, err
	}
	l, err := c.master.LocateVersion(ctx, bucket, key, versionID, latest)
	if err != nil {
		return nil, classify(fmt.Errorf("client: open %s/%s version %q: %w", bucket, key, versionID, err))
	}
	o := &Object{c: c, ctx: ctx, info: l.Object, locs: map[ChunkID][]proto.Target{}}
	for _, ct := range l.Locations {
		o.locs[ct.ID] = ct.Targets
	}
	return o, nil
}

// ListVersions returns one page of a bucket's object versions: keys in
// byte order, each key's versions newest first.
func (c *Client) ListVersions(ctx context.Context, req VersionsRequest) (VersionsResult, error) {
	res, err := c.master.Versions(ctx, req)
	return res, classify(err)
}
