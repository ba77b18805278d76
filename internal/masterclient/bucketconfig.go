package masterclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// SetTags replaces an object's tag set (Tagging in proto.EncodeTags form;
// empty removes it). The object keeps its version and ETag.
func (c *Client) SetTags(ctx context.Context, req proto.TagsRequest) error {
	return c.change(ctx, http.MethodPost, proto.RouteObjectTags, req, nil)
}

// SetBucketConfig replaces the parts of a bucket's configuration that the
// request sets.
func (c *Client) SetBucketConfig(ctx context.Context, req proto.BucketConfigRequest) error {
	return c.change(ctx, http.MethodPost, proto.RouteBucketConfig, req, nil)
}

// SetVersioning sets a bucket's versioning state.
func (c *Client) SetVersioning(ctx context.Context, bucket, status string) error {
	return c.change(ctx, http.MethodPost, proto.RouteVersioning, proto.VersioningRequest{Bucket: bucket, Status: status}, nil)
}

// DeleteVersioned removes an object (or, with req.VersionID, one version
// of it) and reports what the delete did in a versioned bucket: the zero
// DeleteResult in a bucket never versioned. It asks the master for its
// answer (answer=1), which then always comes as JSON.
func (c *Client) DeleteVersioned(ctx context.Context, req proto.DeleteRequest) (proto.DeleteResult, error) {
	var res proto.DeleteResult
	err := c.send(ctx, &call{method: http.MethodPost, path: proto.RouteObjectDelete, query: url.Values{"answer": {"1"}},
		out: &res, id: proto.NewRequestID(time.Now())}, req)
	return res, err
}

// LocateVersion is Locate of one version (id), or of the newest version
// with latest (id ""): either may be a delete marker.
func (c *Client) LocateVersion(ctx context.Context, bucket, key, id string, latest bool) (proto.Located, error) {
	var l proto.Located
	q := url.Values{"bucket": {bucket}, "key": {key}}
	if id != "" {
		q.Set("versionId", id)
	}
	if latest {
		q.Set("latest", "1")
	}
	err := c.do(ctx, &call{method: http.MethodGet, path: proto.RouteObjectLocate, query: q, out: &l, inline: &l.Object.Inline})
	return l, err
}

// Versions returns one page of object versions.
func (c *Client) Versions(ctx context.Context, req proto.VersionsRequest) (proto.VersionsResult, error) {
	q := url.Values{"bucket": {req.Bucket}}
	for k, v := range map[string]string{"prefix": req.Prefix, "delimiter": req.Delimiter,
		"key-marker": req.KeyMarker, "version-id-marker": req.VersionIDMarker} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if req.MaxKeys > 0 {
		q.Set("max-keys", strconv.Itoa(req.MaxKeys))
	}
	var res proto.VersionsResult
	err := c.Call(ctx, http.MethodGet, proto.RouteObjectVersions, q, nil, &res)
	return res, err
}

// SetLock changes a version's retention or legal hold.
func (c *Client) SetLock(ctx context.Context, req proto.LockRequest) error {
	return c.change(ctx, http.MethodPost, proto.RouteObjectLock, req, nil)
}

// CreateBucketWith creates a bucket from a record (name, object lock).
func (c *Client) CreateBucketWith(ctx context.Context, b proto.Bucket) error {
	return c.change(ctx, http.MethodPut, proto.RouteBuckets+"/"+url.PathEscape(b.Name), b, nil)
}
