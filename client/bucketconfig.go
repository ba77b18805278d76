package client

import (
	"context"

	"github.com/granary-store/granary/internal/proto"
)

// CORSRule is one rule of a bucket's CORS configuration.
type CORSRule = proto.CORSRule

// S3's tagging limits.
const (
	MaxObjectTags = proto.MaxObjectTags
	MaxBucketTags = proto.MaxBucketTags
)

// EncodeTags writes a tag set in the form ObjectHeaders.Tagging holds it
// (URL query form sorted by key; "" for none).
func EncodeTags(tags map[string]string) string { return proto.EncodeTags(tags) }

// ParseTags reads a tag set in URL query form (S3's x-amz-tagging).
func ParseTags(s string) (map[string]string, error) { return proto.ParseTags(s) }

// SetTags replaces an object's tag set; empty or nil tags remove it. The
// object keeps its version, ETag and modification time. S3's limits apply
// (at most MaxObjectTags; see proto.ValidTags), else ErrBadRequest.
func (c *Client) SetTags(ctx context.Context, bucket, key string, tags map[string]string) error {
	if err := validBucketKey(bucket, key); err != nil {
		return err
	}
	return classify(c.master.SetTags(ctx, proto.TagsRequest{Bucket: bucket, Key: key, Tagging: proto.EncodeTags(tags)}))
}

// SetVersionTags replaces the tag set of version versionID of an object
// (SetTags for the newest); a missing version is ErrNoSuchVersion or
// ErrNoSuchKey.
func (c *Client) SetVersionTags(ctx context.Context, bucket, key, versionID string, tags map[string]string) error {
	if err := validBucketKey(bucket, key); err != nil {
		return err
	}
	return classify(c.master.SetTags(ctx, proto.TagsRequest{Bucket: bucket, Key: key, Tagging: proto.EncodeTags(tags), VersionID: versionID}))
}

// SetBucketTags replaces a bucket's tag set; empty or nil tags remove it.
func (c *Client) SetBucketTags(ctx context.Context, bucket string, tags map[string]string) error {
	if tags == nil {
		tags = map[string]string{}
	}
	return classify(c.master.SetBucketConfig(ctx, proto.BucketConfigRequest{Bucket: bucket, Tags: &tags}))
}

// SetBucketCORS replaces a bucket's CORS rules; no rules remove them.
func (c *Client) SetBucketCORS(ctx context.Context, bucket string, rules []CORSRule) error {
	if rules == nil {
		rules = []CORSRule{}
	}
	return classify(c.master.SetBucketConfig(ctx, proto.BucketConfigRequest{Bucket: bucket, CORS: &rules}))
}
