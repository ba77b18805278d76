package meta

import (
	"errors"
	"fmt"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/chunkindex"
	"github.com/granary-store/granary/master/meta/kv"
	"github.com/granary-store/granary/master/meta/precond"
	"github.com/granary-store/granary/master/meta/validate"

	"github.com/dgraph-io/badger/v4"
)

// applyReplaceExtents lays an object's version out anew (the current one,
// or the noncurrent VersionID): if it is still at IfVersion, its extents
// become the new ones (which must cover the same bytes with freshly
// allocated chunks) and everything else about the record stays, version,
// ETag and times included, but the storage class when StorageClass is
// set; the old chunks (and stripes) are freed. With StorageClass and no
// extents only the class changes. A changed, missing, inline or deleted
// object is refused and nothing changes: a conversion racing an
// overwrite loses, and the overwrite stays.
func applyReplaceExtents(txn *badger.Txn, _ uint64, c *ReplaceExtents) (any, error) {
	if _, err := getBucket(txn, c.Bucket); err != nil {
		return nil, err
	}
	old, current, err := replaceTarget(txn, c)
	if err != nil {
		return nil, err
	}
	if err := precond.Version(old, c.IfVersion); err != nil || c.IfVersion == 0 {
		if err == nil {
			err = fmt.Errorf("replace extents of %s/%s: a version is required: %w", c.Bucket, c.Key, ErrInvalid)
		}
		return nil, err
	}
	if old.DeleteMarker || len(old.Extents) == 0 && len(c.Extents) > 0 {
		return nil, fmt.Errorf("replace extents of %s/%s: it has no extents: %w", c.Bucket, c.Key, ErrInvalid)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("replace extents of %s/%s: %s: %w", c.Bucket, c.Key, fmt.Sprintf(format, a...), ErrInvalid)
	}
	obj := *old
	if c.StorageClass != "" {
		obj.StorageClass = c.StorageClass
		if err := validate.Headers(obj.ObjectHeaders); err != nil {
			return nil, err
		}
	}
	if len(c.Extents) > 0 {
		if err := swapLayout(txn, old, &obj, c.Extents, bad); err != nil {
			return nil, err
		}
	} else if c.StorageClass == "" {
		return nil, bad("no extents and no storage class")
	}
	if current {
		return obj.Version, kv.Put(txn, objectKey(obj.Bucket, obj.Key), obj)
	}
	return obj.Version, putNoncurrent(txn, &obj)
}

// replaceTarget reads the version a ReplaceExtents names, as stored, and
// whether it is the current one.
func replaceTarget(txn *badger.Txn, c *ReplaceExtents) (*proto.Object, bool, error) {
	cur, err := getRecord(txn, c.Bucket, c.Key)
	if err != nil && (c.VersionID == "" || !errors.Is(err, ErrNoSuchKey)) {
		return nil, false, err
	}
	if c.VersionID == "" || cur != nil && sameVersion(cur, c.VersionID) {
		return cur, true, nil
	}
	rec, err := noncurrentVersion(txn, c.Bucket, c.Key, c.VersionID)
	return rec, false, err
}

// swapLayout gives obj (a copy of old) the extents and moves the chunk
// references and stripes from old's layout to the new one.
func swapLayout(txn *badger.Txn, old, obj *proto.Object, extents []proto.Extent, bad func(string, ...any) error) error {
	obj.Extents = extents
	if err := validate.Layout(obj, bad); err != nil {
		return err
	}
	oldSet, newSet := chunkindex.Set(old), chunkindex.Set(obj)
	for id := range newSet {
		if oldSet[id] {
			return bad("chunk %d is in both layouts", id)
		}
	}
	if err := chunkindex.CheckFresh(txn, newSet, nil); err != nil {
		return err
	}
	if err := chunkindex.Swap(txn, oldSet, newSet, obj.Bucket+"/"+obj.Key); err != nil {
		return err
	}
	return chunkindex.SwapStripes(txn, chunkindex.ObjectStripes(old), chunkindex.ObjectStripes(obj))
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
	if err := validate.UserMeta(rec); err != nil {
		return nil, err
	}
	rec.Version, rec.Modified = index, c.Modified
	return rec.Version, kv.Put(txn, objectKey(c.Bucket, c.Key), rec)
}
