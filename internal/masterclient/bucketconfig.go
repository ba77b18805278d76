package masterclient

import (
	"context"
	"net/http"

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
