package meta

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// applyReplaceExtents lays an object's current version out anew: if it is
// still at IfVersion, its extents become the new ones (which must cover
// the same bytes with freshly allocated chunks) and everything else about
// the record stays, version, ETag and times included; the old chunks (and
// stripes) are freed. A changed, missing, inline or deleted object is
// refused and nothing changes: a conversion racing an overwrite loses,
// and the overwrite stays.
func applyReplaceExtents(txn *badger.Txn, _ uint64, c *ReplaceExtents) (any, error) {
	if _, err := getBucket(txn, c.Bucket); err != nil {
		return nil, err
	}
	old, err := getRecord(txn, c.Bucket, c.Key)
	if err != nil {
		return nil, err
	}
	if err := checkVersion(old, c.IfVersion); err != nil || c.IfVersion == 0 {
		if err == nil {
			err = fmt.Errorf("replace extents of %s/%s: a version is required: %w", c.Bucket, c.Key, ErrInvalid)
		}
		return nil, err
	}
	if old.DeleteMarker || len(old.Extents) == 0 {
		return nil, fmt.Errorf("replace extents of %s/%s: it has no extents: %w", c.Bucket, c.Key, ErrInvalid)
	}
	obj := *old
	obj.Extents = c.Extents
	bad := func(format string, a ...any) error {
		return fmt.Errorf("replace extents of %s/%s: %s: %w", c.Bucket, c.Key, fmt.Sprintf(format, a...), ErrInvalid)
	}
	if err := validateLayout(&obj, bad); err != nil {
		return nil, err
	}
	oldSet, newSet := chunkSet(old), chunkSet(&obj)
	for id := range newSet {
		if oldSet[id] {
			return nil, bad("chunk %d is in both layouts", id)
		}
	}
	if err := checkFreshChunks(txn, newSet, nil); err != nil {
		return nil, err
	}
	if err := swapChunks(txn, oldSet, newSet, obj.Bucket+"/"+obj.Key); err != nil {
		return nil, err
	}
	if err := swapStripes(txn, objectStripes(old), objectStripes(&obj)); err != nil {
		return nil, err
	}
	return obj.Version, put(txn, objectKey(obj.Bucket, obj.Key), obj)
}

// applySetMeta replaces an object's user metadata in place (see SetMeta):
// a file system's chmod or utimes without copying the file's bytes. It is
// refused in a versioned bucket (S3 would make a new version), for a
// missing object or a delete marker, and when the ETag has changed.
func applySetMeta(txn *badger.Txn, index uint64, c *SetMeta) (any, error) {
	b, err := getBucket(txn, c.Bucket)
	if err != nil {
		return nil, err
	}
	if b.Versioning != "" {
		return nil, fmt.Errorf("bucket %s is versioned: a metadata change makes a new version: %w", c.Bucket, ErrInvalid)
	}
	rec, err := getRecord(txn, c.Bucket, c.Key) // as stored: inline bytes stay where they are
	if err != nil {
		return nil, err
	}
	if c.IfETag == "" || rec.ETag != c.IfETag {
		return nil, fmt.Errorf("object %s/%s: ETag is %q, not %q: %w", c.Bucket, c.Key, rec.ETag, c.IfETag, ErrPrecondition)
	}
	rec.Meta = c.Meta
	if err := validateMeta(rec); err != nil {
		return nil, err
	}
	rec.Version, rec.Modified = index, c.Modified
	return rec.Version, put(txn, objectKey(c.Bucket, c.Key), rec)
}
