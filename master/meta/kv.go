package meta

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/kv"
)

func requireBucket(txn *badger.Txn, name string) error {
	found, err := kv.Exists(txn, bucketKey(name))
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("bucket %s: %w", name, ErrNoSuchBucket)
	}
	return nil
}

func getObject(txn *badger.Txn, bucket, key string) (*proto.Object, error) {
	rec, err := getRecord(txn, bucket, key)
	if err != nil {
		return nil, err
	}
	return withInline(txn, rec)
}

// withInline returns a copy of rec with its apart inline bytes loaded.
func withInline(txn *badger.Txn, rec *proto.Object) (*proto.Object, error) {
	o := *rec
	if inlineApart(rec) {
		item, err := txn.Get(dataKey(rec.Bucket, rec.Key))
		if err != nil {
			return nil, kv.Storage(fmt.Errorf("inline data of %s/%s: %w", rec.Bucket, rec.Key, err))
		}
		if o.Inline, err = item.ValueCopy(nil); err != nil {
			return nil, kv.Storage(err)
		}
	}
	return &o, nil
}

// getRecord reads an object's record without its inline bytes.
func getRecord(txn *badger.Txn, bucket, key string) (*proto.Object, error) {
	var o proto.Object
	if err := kv.Get(txn, objectKey(bucket, key), &o); err != nil {
		return nil, kv.NotFoundAs(err, fmt.Errorf("object %s/%s: %w", bucket, key, ErrNoSuchKey))
	}
	return &o, nil
}

// Inline bytes live raw under d/<bucket>/<key>, apart from the record, so
// that reading a record (lookups, listings) never decodes them. Records
// written before this split may still carry Inline themselves.
func dataKey(bucket, key string) []byte { return []byte("d/" + bucket + "/" + key) }

// inlineApart reports whether a record's bytes are stored under dataKey.
func inlineApart(o *proto.Object) bool {
	return len(o.Extents) == 0 && o.Size > 0 && len(o.Inline) == 0
}

// putObjectRecord stores obj, its inline bytes apart; old is the record it
// replaces (nil if none), whose apart bytes are dropped when unused.
func putObjectRecord(txn *badger.Txn, obj proto.Object, old *proto.Object) error {
	k := dataKey(obj.Bucket, obj.Key)
	if len(obj.Inline) > 0 {
		if err := kv.SetRaw(txn, k, obj.Inline); err != nil {
			return err
		}
		obj.Inline = nil
	} else if old != nil && inlineApart(old) {
		if err := kv.Del(txn, k); err != nil {
			return err
		}
	}
	return kv.Put(txn, objectKey(obj.Bucket, obj.Key), obj)
}

// deleteObjectRecord removes an object's record and apart inline bytes.
func deleteObjectRecord(txn *badger.Txn, old *proto.Object) error {
	if inlineApart(old) {
		if err := kv.Del(txn, dataKey(old.Bucket, old.Key)); err != nil {
			return err
		}
	}
	return kv.Del(txn, objectKey(old.Bucket, old.Key))
}
