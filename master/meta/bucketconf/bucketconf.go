// Package bucketconf is a bucket's configuration as the replicated state
// changes it: the change (Change, the payload of master/meta's
// OpPutBucketConf), its checks (Validate) and its effect on the bucket
// record (Apply). It does no storage: master/meta reads and writes the
// record around Apply in one transaction.
package bucketconf

import (
	"fmt"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/validate"
)

// Change replaces the parts of a bucket's configuration that are not nil
// (an empty one removes it). It is the payload of master/meta's
// OpPutBucketConf (meta.PutBucketConf): its JSON is a stored format.
type Change struct {
	Bucket string             `json:"bucket"`
	Tags   *map[string]string `json:"tags,omitempty"`
	CORS   *[]proto.CORSRule  `json:"cors,omitempty"`
	// Lock, when set, turns object lock on (the bucket's versioning
	// must be Enabled) with its default retention.
	Lock *proto.LockConfig `json:"lock,omitempty"`
	// Lifecycle, when set, replaces the lifecycle rules (an empty
	// list removes them).
	Lifecycle *[]proto.LifecycleRule `json:"lifecycle,omitempty"`
	// Policy, when set, replaces the bucket policy ("" removes it).
	Policy *string `json:"policy,omitempty"`
	// ACL, when set, replaces the bucket's ACL.
	ACL *proto.ACL `json:"acl,omitempty"`
	// Ownership, when set, replaces the object ownership setting (""
	// removes it).
	Ownership *string `json:"ownership,omitempty"`
	// PublicAccessBlock, when set, replaces the public access block;
	// ClearPublicAccessBlock removes it.
	PublicAccessBlock      *proto.PublicAccessBlock `json:"publicAccessBlock,omitempty"`
	ClearPublicAccessBlock bool                     `json:"clearPublicAccessBlock,omitempty"`
	// DataPolicy, when set, changes the data policy of later writes:
	// rep-N sets the bucket's replication (existing replicated chunks
	// follow), rs-K-M makes new chunks stripes.
	DataPolicy *string `json:"dataPolicy,omitempty"`
	// Convert, when set, replaces the bucket's background conversion
	// rule (proto.BucketConfigRequest.Convert: AfterSeconds 0 is off,
	// a negative one removes the rule).
	Convert *proto.ConvertRule `json:"convert,omitempty"`
}

// Validate checks the parts of a change.
func Validate(c *Change) error {
	if err := proto.ValidBucketName(c.Bucket); err != nil {
		return fmt.Errorf("%w: %w", validate.ErrInvalid, err)
	}
	if c.Tags != nil {
		if err := proto.ValidTags(*c.Tags, proto.MaxBucketTags); err != nil {
			return fmt.Errorf("bucket %s: %w: %w", c.Bucket, validate.ErrInvalid, err)
		}
	}
	if c.CORS != nil && len(*c.CORS) > 0 {
		if err := proto.ValidCORS(*c.CORS); err != nil {
			return fmt.Errorf("bucket %s: %w: %w", c.Bucket, validate.ErrInvalid, err)
		}
	}
	if c.Lock != nil && c.Lock.Rule != nil {
		if err := proto.ValidLockRule(*c.Lock.Rule); err != nil {
			return fmt.Errorf("bucket %s: %w: %w", c.Bucket, validate.ErrInvalid, err)
		}
	}
	if c.Lifecycle != nil && len(*c.Lifecycle) > 0 {
		if err := proto.ValidLifecycle(*c.Lifecycle); err != nil {
			return fmt.Errorf("bucket %s: %w: %w", c.Bucket, validate.ErrInvalid, err)
		}
	}
	if err := validDataPolicyConf(c); err != nil {
		return err
	}
	return validateAccessConf(c)
}

// validDataPolicyConf checks a data policy change.
func validDataPolicyConf(c *Change) error {
	if c.DataPolicy != nil {
		if _, err := proto.ParseDataPolicy(*c.DataPolicy); err != nil {
			return fmt.Errorf("bucket %s: %w: %w", c.Bucket, validate.ErrInvalid, err)
		}
	}
	if r := c.Convert; r != nil && r.AfterSeconds > 0 {
		p, err := proto.ParseDataPolicy(r.Policy)
		if err != nil {
			return fmt.Errorf("bucket %s: conversion: %w: %w", c.Bucket, validate.ErrInvalid, err)
		}
		if !p.IsErasure() {
			return fmt.Errorf("bucket %s: conversion to %s: the target must be erasure-coded (rs-K-M): %w", c.Bucket, p, validate.ErrInvalid)
		}
	}
	return nil
}

// validateAccessConf checks the access settings of a bucket configuration
// change.
func validateAccessConf(c *Change) error {
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

// Apply replaces the parts of b that c sets; c has passed Validate. Object
// lock needs b's versioning Enabled (validate.ErrInvalid).
func Apply(b *proto.Bucket, c *Change) error {
	if c.Tags != nil {
		b.Tags = nil
		if len(*c.Tags) > 0 {
			b.Tags = *c.Tags
		}
	}
	if c.Lock != nil {
		if b.Versioning != proto.VersioningEnabled {
			return fmt.Errorf("bucket %s: object lock needs versioning Enabled: %w", c.Bucket, validate.ErrInvalid)
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
		p, _ := proto.ParseDataPolicy(*c.DataPolicy) // checked by Validate
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
			p, _ := proto.ParseDataPolicy(r.Policy) // checked by Validate
			b.Convert = &proto.ConvertRule{Policy: p.String(), AfterSeconds: r.AfterSeconds}
		}
	}
	return nil
}
