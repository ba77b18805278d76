package meta

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/chunkindex"
	"github.com/granary-store/granary/master/meta/kv"
)

// Object versions. The current version of a key stays where an
// unversioned bucket keeps its object (o/, inline bytes under d/), so
// reads and listings of current objects cost what they always did. The
// other versions, delete markers among them, live apart:
//
//	v/<bucket>/<key> 0x00 <^version BE>   proto.Object, inline bytes inside
//	vn/<bucket>/<key>                     version (8 bytes BE) of the key's
//	                                      null version when it is in v/
//
// Keys hold no NUL byte, so a key's versions are one prefix, newest first
// (version is the Raft index that made the record), and keys sort as in
// o/. A key's newest version is its o/ record when it has one; otherwise
// it is the first v/ entry, a delete marker (the key reads as missing) or
// nothing. The chunks of every version stay referenced until that version
// is removed for good.

func versionPrefix(bucket, key string) []byte { return []byte("v/" + bucket + "/" + key + "\x00") }
func versionKey(bucket, key string, version uint64) []byte {
	return binary.BigEndian.AppendUint64(versionPrefix(bucket, key), ^version)
}
func nullKey(bucket, key string) []byte { return []byte("vn/" + bucket + "/" + key) }

func getBucket(txn *badger.Txn, name string) (*proto.Bucket, error) {
	var b proto.Bucket
	if err := kv.Get(txn, bucketKey(name), &b); err != nil {
		return nil, kv.NotFoundAs(err, fmt.Errorf("bucket %s: %w", name, ErrNoSuchBucket))
	}
	return &b, nil
}

func applySetVersioning(txn *badger.Txn, _ uint64, c *SetVersioning) (any, error) {
	if c.Status != proto.VersioningEnabled && c.Status != proto.VersioningSuspended {
		return nil, fmt.Errorf("versioning status %q is not Enabled or Suspended: %w", c.Status, ErrInvalid)
	}
	b, err := getBucket(txn, c.Bucket)
	if err != nil {
		return nil, err
	}
	if b.ObjectLock && c.Status != proto.VersioningEnabled {
		return nil, fmt.Errorf("bucket %s has object lock: versioning stays Enabled: %w", c.Bucket, ErrInvalid)
	}
	b.Versioning = c.Status
	return nil, kv.Put(txn, bucketKey(c.Bucket), b)
}

// replaces reports whether a new current version of the key in bucket b
// removes the current one, old, for good: always unversioned, and when
// both are the null version while suspended. Otherwise old is kept as a
// noncurrent version.
func replaces(b *proto.Bucket, old *proto.Object) bool {
	return old != nil && (b.Versioning == "" || b.Versioning == proto.VersioningSuspended && old.IsNullVersion())
}

// setCurrent stores obj as its key's current version, with the version
// id its bucket's state gives it. old is the current record (nil: none);
// replaced says the caller freed its chunks (see replaces), else it
// becomes noncurrent. While suspended, a noncurrent null version goes.
func setCurrent(txn *badger.Txn, b *proto.Bucket, obj *proto.Object, old *proto.Object, replaced bool) error {
	switch b.Versioning {
	case proto.VersioningEnabled:
		obj.VersionID = proto.VersionIDFor(obj.Version)
	case proto.VersioningSuspended:
		obj.VersionID = proto.NullVersion
	}
	if old != nil && !replaced {
		if err := archive(txn, old); err != nil {
			return err
		}
		old = nil
	}
	if b.Versioning == proto.VersioningSuspended {
		if err := dropNoncurrentNull(txn, obj.Bucket, obj.Key); err != nil {
			return err
		}
	}
	return putObjectRecord(txn, *obj, old)
}

// archive moves a current record (as stored) to the noncurrent versions,
// its inline bytes with it.
func archive(txn *badger.Txn, cur *proto.Object) error {
	rec, err := withInline(txn, cur)
	if err != nil {
		return err
	}
	if err := deleteObjectRecord(txn, cur); err != nil {
		return err
	}
	return putNoncurrent(txn, rec)
}

func putNoncurrent(txn *badger.Txn, rec *proto.Object) error {
	if rec.IsNullVersion() {
		if err := kv.SetRaw(txn, nullKey(rec.Bucket, rec.Key), binary.BigEndian.AppendUint64(nil, rec.Version)); err != nil {
			return err
		}
	}
	return kv.Put(txn, versionKey(rec.Bucket, rec.Key, rec.Version), rec)
}

// noncurrentNull returns the key's null version when it is noncurrent.
func noncurrentNull(txn *badger.Txn, bucket, key string) (*proto.Object, error) {
	item, err := txn.Get(nullKey(bucket, key))
	if kv.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, kv.Storage(err)
	}
	raw, err := item.ValueCopy(nil)
	if err != nil || len(raw) != 8 {
		return nil, kv.Storage(fmt.Errorf("null version of %s/%s: %d bytes, %v", bucket, key, len(raw), err))
	}
	var rec proto.Object
	if err := kv.Get(txn, versionKey(bucket, key, binary.BigEndian.Uint64(raw)), &rec); err != nil {
		return nil, kv.Storage(fmt.Errorf("null version of %s/%s: %w", bucket, key, err))
	}
	return &rec, nil
}

func dropNoncurrentNull(txn *badger.Txn, bucket, key string) error {
	rec, err := noncurrentNull(txn, bucket, key)
	if err != nil || rec == nil {
		return err
	}
	return dropNoncurrent(txn, rec)
}

// dropNoncurrent removes a noncurrent version for good, freeing its chunks.
func dropNoncurrent(txn *badger.Txn, rec *proto.Object) error {
	if err := chunkindex.SwapObject(txn, rec, nil, ""); err != nil {
		return err
	}
	if rec.IsNullVersion() {
		if err := kv.Del(txn, nullKey(rec.Bucket, rec.Key)); err != nil {
			return err
		}
	}
	return kv.Del(txn, versionKey(rec.Bucket, rec.Key, rec.Version))
}

// newestNoncurrent returns the newest noncurrent version of a key, or nil.
func newestNoncurrent(txn *badger.Txn, bucket, key string) (*proto.Object, error) {
	prefix := versionPrefix(bucket, key)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: false})
	defer it.Close()
	it.Rewind()
	if !it.Valid() {
		return nil, nil
	}
	var rec proto.Object
	if err := it.Item().Value(func(v []byte) error { return kv.Decode(it.Item().Key(), v, &rec) }); err != nil {
		return nil, err
	}
	return &rec, nil
}

// promote makes the newest noncurrent version of a key that has no current
// one current, unless it is a delete marker.
func promote(txn *badger.Txn, bucket, key string) error {
	rec, err := newestNoncurrent(txn, bucket, key)
	if err != nil || rec == nil || rec.DeleteMarker {
		return err
	}
	if rec.IsNullVersion() {
		if err := kv.Del(txn, nullKey(bucket, key)); err != nil {
			return err
		}
	}
	if err := kv.Del(txn, versionKey(bucket, key, rec.Version)); err != nil {
		return err
	}
	return putObjectRecord(txn, *rec, nil)
}

// deleteVersioned serves a delete without a version id in a versioned
// bucket: a delete marker becomes the newest version.
func deleteVersioned(txn *badger.Txn, index uint64, b *proto.Bucket, c *DeleteObject) (any, error) {
	old, err := getRecord(txn, c.Bucket, c.Key)
	if err != nil && !errors.Is(err, ErrNoSuchKey) {
		return nil, err
	}
	if old == nil && (c.IfETag != "" || c.IfSize != nil || c.IfModified != nil || c.IfVersion != 0) {
		return nil, fmt.Errorf("object %s/%s to match: %w", c.Bucket, c.Key, ErrNoSuchKey)
	}
	if old != nil {
		if err := checkDelete(old, c); err != nil {
			return nil, err
		}
	}
	marker := proto.Object{Bucket: c.Bucket, Key: c.Key, Version: index, DeleteMarker: true, VersionID: proto.NullVersion}
	if c.At != nil {
		marker.Modified = c.At.UTC()
	}
	if b.Versioning == proto.VersioningEnabled {
		marker.VersionID = proto.VersionIDFor(index)
	}
	if replaces(b, old) {
		if err := chunkindex.SwapObject(txn, old, nil, ""); err != nil {
			return nil, err
		}
		if err := deleteObjectRecord(txn, old); err != nil {
			return nil, err
		}
	} else if old != nil {
		if err := archive(txn, old); err != nil {
			return nil, err
		}
	}
	if b.Versioning == proto.VersioningSuspended {
		if err := dropNoncurrentNull(txn, c.Bucket, c.Key); err != nil {
			return nil, err
		}
	}
	if err := putNoncurrent(txn, &marker); err != nil {
		return nil, err
	}
	return proto.DeleteResult{VersionID: marker.VersionID, DeleteMarker: true}, nil
}

// deleteVersion removes one version for good. A version that does not
// exist is no error, as in S3; a removed current version (or newest
// delete marker) hands its place to the next newest version.
func deleteVersion(txn *badger.Txn, c *DeleteObject) (any, error) {
	if _, _, ok := proto.ParseVersionID(c.VersionID); !ok {
		return nil, fmt.Errorf("version id %q: %w", c.VersionID, ErrInvalid)
	}
	cur, err := getRecord(txn, c.Bucket, c.Key)
	if err != nil && !errors.Is(err, ErrNoSuchKey) {
		return nil, err
	}
	if cur != nil && sameVersion(cur, c.VersionID) {
		if err := checkDelete(cur, c); err != nil {
			return nil, err
		}
		if err := checkUnlocked(cur, c); err != nil {
			return nil, err
		}
		if err := chunkindex.SwapObject(txn, cur, nil, ""); err != nil {
			return nil, err
		}
		if err := deleteObjectRecord(txn, cur); err != nil {
			return nil, err
		}
		return proto.DeleteResult{VersionID: c.VersionID}, promote(txn, c.Bucket, c.Key)
	}
	rec, err := noncurrentVersion(txn, c.Bucket, c.Key, c.VersionID)
	if errors.Is(err, ErrNoSuchVersion) {
		return proto.DeleteResult{VersionID: c.VersionID}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := checkDelete(rec, c); err != nil {
		return nil, err
	}
	if err := checkUnlocked(rec, c); err != nil {
		return nil, err
	}
	if err := dropNoncurrent(txn, rec); err != nil {
		return nil, err
	}
	if cur == nil {
		if err := promote(txn, c.Bucket, c.Key); err != nil {
			return nil, err
		}
	}
	return proto.DeleteResult{VersionID: c.VersionID, DeleteMarker: rec.DeleteMarker}, nil
}

func sameVersion(rec *proto.Object, id string) bool {
	if id == proto.NullVersion {
		return rec.IsNullVersion()
	}
	return rec.VersionID == id
}

// noncurrentVersion finds a noncurrent version by id (ErrNoSuchVersion).
func noncurrentVersion(txn *badger.Txn, bucket, key, id string) (*proto.Object, error) {
	missing := fmt.Errorf("version %s of %s/%s: %w", id, bucket, key, ErrNoSuchVersion)
	index, null, ok := proto.ParseVersionID(id)
	if !ok {
		return nil, missing
	}
	if null {
		rec, err := noncurrentNull(txn, bucket, key)
		if err == nil && rec == nil {
			err = missing
		}
		return rec, err
	}
	var rec proto.Object
	if err := kv.Get(txn, versionKey(bucket, key, index), &rec); err != nil {
		return nil, kv.NotFoundAs(err, missing)
	}
	if rec.VersionID != id {
		return nil, missing
	}
	return &rec, nil
}

// objectVersion reads one version of a key (current or not), inline
// bytes included; a delete marker is returned as it is.
func objectVersion(txn *badger.Txn, bucket, key, id string) (*proto.Object, error) {
	if err := requireBucket(txn, bucket); err != nil {
		return nil, err
	}
	cur, err := getObject(txn, bucket, key)
	if err != nil && !errors.Is(err, ErrNoSuchKey) {
		return nil, err
	}
	if cur != nil && sameVersion(cur, id) {
		return cur, nil
	}
	return noncurrentVersion(txn, bucket, key, id)
}

// ObjectVersion returns one version of an object by S3 version id
// (ErrNoSuchVersion when it has none such); it may be a delete marker.
func (f *FSM) ObjectVersion(bucket, key, id string) (*proto.Object, error) {
	var o *proto.Object
	err := f.view(func(txn *badger.Txn) (err error) {
		o, err = objectVersion(txn, bucket, key, id)
		return err
	})
	return o, err
}

// Latest returns a key's newest version: its current object, else its
// newest delete marker; ErrNoSuchKey when it has neither.
func (f *FSM) Latest(bucket, key string) (*proto.Object, error) {
	var o *proto.Object
	err := f.view(func(txn *badger.Txn) error {
		if err := requireBucket(txn, bucket); err != nil {
			return err
		}
		cur, err := getObject(txn, bucket, key)
		if err == nil || !errors.Is(err, ErrNoSuchKey) {
			o = cur
			return err
		}
		rec, err := newestNoncurrent(txn, bucket, key)
		if err != nil {
			return err
		}
		if rec == nil || !rec.DeleteMarker {
			return fmt.Errorf("object %s/%s: %w", bucket, key, ErrNoSuchKey)
		}
		o = rec
		return nil
	})
	return o, err
}

func isNoSuchKey(err error) bool { return errors.Is(err, ErrNoSuchKey) }
