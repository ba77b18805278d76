package meta

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/kv"
	"github.com/granary-store/granary/master/meta/validate"
)

// applyPutObjectTags replaces an object's tag set in its record; the
// record keeps its version, its ETag, its modification time and its
// inline bytes (stored apart or not), so readers and conditional writers
// see the same object.
func applyPutObjectTags(txn *badger.Txn, _ uint64, c *PutObjectTags) (any, error) {
	if err := validate.Tagging(c.Tagging); err != nil {
		return nil, fmt.Errorf("object %s/%s: %w", c.Bucket, c.Key, err)
	}
	if err := requireBucket(txn, c.Bucket); err != nil {
		return nil, err
	}
	if c.VersionID != "" {
		rec, current, err := findVersion(txn, c.Bucket, c.Key, c.VersionID)
		if err != nil {
			return nil, err
		}
		if rec.DeleteMarker {
			return nil, fmt.Errorf("version %s of %s/%s is a delete marker: %w", rec.VersionName(), c.Bucket, c.Key, ErrInvalid)
		}
		rec.Tagging = c.Tagging
		if current {
			return nil, kv.Put(txn, objectKey(c.Bucket, c.Key), rec)
		}
		return nil, kv.Put(txn, versionKey(c.Bucket, c.Key, rec.Version), rec)
	}
	rec, err := getRecord(txn, c.Bucket, c.Key) // as stored: inline bytes stay where they are
	if err != nil {
		return nil, err
	}
	rec.Tagging = c.Tagging
	return nil, kv.Put(txn, objectKey(c.Bucket, c.Key), rec)
}

// ValidateBucketConf checks the parts of a bucket configuration change.
func ValidateBucketConf(c *PutBucketConf) error {
	if err := proto.ValidBucketName(c.Bucket); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if c.Tags != nil {
		if err := proto.ValidTags(*c.Tags, proto.MaxBucketTags); err != nil {
			return fmt.Errorf("bucket %s: %w: %w", c.Bucket, ErrInvalid, err)
		}
	}
	if c.CORS != nil && len(*c.CORS) > 0 {
		if err := proto.ValidCORS(*c.CORS); err != nil {
			return fmt.Errorf("bucket %s: %w: %w", c.Bucket, ErrInvalid, err)
		}
	}
	if c.Lock != nil && c.Lock.Rule != nil {
		if err := proto.ValidLockRule(*c.Lock.Rule); err != nil {
			return fmt.Errorf("bucket %s: %w: %w", c.Bucket, ErrInvalid, err)
		}
	}
	if c.Lifecycle != nil && len(*c.Lifecycle) > 0 {
		if err := proto.ValidLifecycle(*c.Lifecycle); err != nil {
			return fmt.Errorf("bucket %s: %w: %w", c.Bucket, ErrInvalid, err)
		}
	}
	if err := validDataPolicyConf(c); err != nil {
		return err
	}
	return validateAccessConf(c)
}

// validDataPolicyConf checks a data policy change.
func validDataPolicyConf(c *PutBucketConf) error {
	if c.DataPolicy != nil {
		if _, err := proto.ParseDataPolicy(*c.DataPolicy); err != nil {
			return fmt.Errorf("bucket %s: %w: %w", c.Bucket, ErrInvalid, err)
		}
	}
	if r := c.Convert; r != nil && r.AfterSeconds > 0 {
		p, err := proto.ParseDataPolicy(r.Policy)
		if err != nil {
			return fmt.Errorf("bucket %s: conversion: %w: %w", c.Bucket, ErrInvalid, err)
		}
		if !p.IsErasure() {
			return fmt.Errorf("bucket %s: conversion to %s: the target must be erasure-coded (rs-K-M): %w", c.Bucket, p, ErrInvalid)
		}
	}
	return nil
}

// validateAccessConf checks the access settings of a bucket configuration
// change.
func validateAccessConf(c *PutBucketConf) error {
	b := proto.Bucket{Name: c.Bucket}
	if c.Policy != nil {
		b.Policy = *c.Policy
	}
	if c.Ownership != nil {
		b.Ownership = *c.Ownership
	}
	b.ACL = c.ACL
	return validate.BucketAccess(&b)
}

// applyPutBucketConf replaces the given parts of a bucket's configuration.
func applyPutBucketConf(txn *badger.Txn, _ uint64, c *PutBucketConf) (any, error) {
	if err := ValidateBucketConf(c); err != nil {
		return nil, err
	}
	var b proto.Bucket
	if err := kv.Get(txn, bucketKey(c.Bucket), &b); err != nil {
		return nil, kv.NotFoundAs(err, fmt.Errorf("bucket %s: %w", c.Bucket, ErrNoSuchBucket))
	}
	if c.Tags != nil {
		b.Tags = nil
		if len(*c.Tags) > 0 {
			b.Tags = *c.Tags
		}
	}
	if c.Lock != nil {
		if b.Versioning != proto.VersioningEnabled {
			return nil, fmt.Errorf("bucket %s: object lock needs versioning Enabled: %w", c.Bucket, ErrInvalid)
		}
		b.ObjectLock, b.LockRule = true, c.Lock.Rule
	}
	if c.CORS != nil {
		b.CORS = nil
		if len(*c.CORS) > 0 {
			b.CORS = *c.CORS
		}
	}
	if c.Lifecycle != nil {
		b.Lifecycle = nil
		if len(*c.Lifecycle) > 0 {
			b.Lifecycle = *c.Lifecycle
		}
	}
	if c.Policy != nil {
		b.Policy = *c.Policy
	}
	if c.ACL != nil {
		acl := *c.ACL
		b.ACL = &acl
	}
	if c.Ownership != nil {
		b.Ownership = *c.Ownership
	}
	if c.PublicAccessBlock != nil {
		pab := *c.PublicAccessBlock
		b.PublicAccessBlock = &pab
	}
	if c.ClearPublicAccessBlock {
		b.PublicAccessBlock = nil
	}
	if c.DataPolicy != nil {
		p, _ := proto.ParseDataPolicy(*c.DataPolicy) // checked by ValidateBucketConf
		if p.IsErasure() {
			b.DataPolicy = p.String()
		} else {
			b.DataPolicy, b.Replication = "", p.Copies
		}
	}
	if r := c.Convert; r != nil {
		switch {
		case r.AfterSeconds < 0:
			b.Convert = nil
		case r.AfterSeconds == 0:
			b.Convert = &proto.ConvertRule{}
		default:
			p, _ := proto.ParseDataPolicy(r.Policy) // checked by ValidateBucketConf
			b.Convert = &proto.ConvertRule{Policy: p.String(), AfterSeconds: r.AfterSeconds}
		}
	}
	return nil, kv.Put(txn, bucketKey(c.Bucket), b)
}
