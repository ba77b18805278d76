package client

import (
	"context"

	"github.com/granary-store/granary/internal/proto"
)

// LifecycleRule is one rule of a bucket's lifecycle configuration.
type LifecycleRule = proto.LifecycleRule

// The parts of a LifecycleRule.
type (
	// LifecycleFilter selects the objects a rule applies to.
	LifecycleFilter = proto.LifecycleFilter
	// LifecycleAnd selects the objects that match all its predicates.
	LifecycleAnd = proto.LifecycleAnd
	// LifecycleTag is one tag a filter matches.
	LifecycleTag = proto.Tag
	// LifecycleExpiration expires current versions.
	LifecycleExpiration = proto.LifecycleExpiration
	// NoncurrentExpiration removes noncurrent versions.
	NoncurrentExpiration = proto.NoncurrentExpiration
	// LifecycleTransition moves current versions to another storage class.
	LifecycleTransition = proto.LifecycleTransition
	// NoncurrentTransition moves noncurrent versions to another storage class.
	NoncurrentTransition = proto.NoncurrentTransition
	// AbortIncompleteUpload aborts multipart uploads left unfinished.
	AbortIncompleteUpload = proto.AbortIncompleteUpload
)

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
