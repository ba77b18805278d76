package meta

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/bucketconf"
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

// ValidateBucketConf checks the parts of a bucket configuration change
// (bucketconf.Validate).
func ValidateBucketConf(c *PutBucketConf) error { return bucketconf.Validate(c) }

// applyPutBucketConf replaces the given parts of a bucket's configuration.
func applyPutBucketConf(txn *badger.Txn, _ uint64, c *PutBucketConf) (any, error) {
	if err := bucketconf.Validate(c); err != nil {
		return nil, err
	}
	var b proto.Bucket
	if err := kv.Get(txn, bucketKey(c.Bucket), &b); err != nil {
		return nil, kv.NotFoundAs(err, fmt.Errorf("bucket %s: %w", c.Bucket, ErrNoSuchBucket))
	}
	if err := bucketconf.Apply(&b, c); err != nil {
		return nil, err
	}
	return nil, kv.Put(txn, bucketKey(c.Bucket), b)
}
