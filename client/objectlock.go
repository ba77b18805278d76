package client

import (
	"context"

	"github.com/granary-store/granary/internal/proto"
)

// Object lock modes and legal hold states.
const (
	LockGovernance = proto.LockGovernance
	LockCompliance = proto.LockCompliance
	LegalHoldOn    = proto.LegalHoldOn
	LegalHoldOff   = proto.LegalHoldOff
)

// LockRule is a bucket's default retention.
type LockRule = proto.LockRule

// LockRequest changes one version's retention or legal hold.
type LockRequest = proto.LockRequest

// Retention is a version's retention mode and end (RFC 3339).
type Retention = proto.Retention

// CreateLockedBucket creates a bucket with object lock (and so with
// versioning Enabled for good).
func (c *Client) CreateLockedBucket(ctx context.Context, name string) error {
	return c.CreateBucketWith(ctx, BucketSpec{Name: name, ObjectLock: true})
}

// SetObjectLock turns object lock on for a versioning-enabled bucket, with
// a default retention (nil: none).
func (c *Client) SetObjectLock(ctx context.Context, bucket string, rule *LockRule) error {
	return classify(c.master.SetBucketConfig(ctx, proto.BucketConfigRequest{Bucket: bucket, Lock: &proto.LockConfig{Rule: rule}}))
}

// SetLock changes a version's retention or legal hold; a change a lock
// forbids is ErrLocked.
func (c *Client) SetLock(ctx context.Context, req LockRequest) error {
	if err := validBucketKey(req.Bucket, req.Key); err != nil {
		return err
	}
	return classify(c.master.SetLock(ctx, req))
}
