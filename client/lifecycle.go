package client

import (
	"context"

	"github.com/granary-store/granary/internal/proto"
)

// LifecycleRule is one rule of a bucket's lifecycle configuration.
type LifecycleRule = proto.LifecycleRule

// SetBucketLifecycle replaces a bucket's lifecycle rules; no rules remove
// them. The rules must pass proto.ValidLifecycle, else ErrBadRequest. The
// leader applies them in the background (expirations and aborted uploads
// are ordinary deletes and aborts).
func (c *Client) SetBucketLifecycle(ctx context.Context, bucket string, rules []LifecycleRule) error {
	if rules == nil {
		rules = []LifecycleRule{}
	}
	return classify(c.master.SetBucketConfig(ctx, proto.BucketConfigRequest{Bucket: bucket, Lifecycle: &rules}))
}
