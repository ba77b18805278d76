package meta

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
)

// The helpers below wrap Badger failures in storageError so that ApplyBatch
// can tell a broken disk from a refused command.

func get(txn *badger.Txn, key []byte, v any) error {
	item, err := txn.Get(key)
	if err != nil {
		if errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		return storageError{err}
	}
	return item.Value(func(b []byte) error { return decodeValue(key, b, v) })
}

func decodeValue(key, b []byte, v any) error {
	if len(b) == 0 || b[0] != valueFormat1 {
		return storageError{fmt.Errorf("value of %q has an unknown format", key)}
	}
	if err := json.Unmarshal(b[1:], v); err != nil {
		return storageError{fmt.Errorf("decode %q: %w", key, err)}
	}
	return nil
}

func encodeValue(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append([]byte{valueFormat1}, b...), nil
}

func put(txn *badger.Txn, key []byte, v any) error {
	b, err := encodeValue(v)
	if err != nil {
		return storageError{fmt.Errorf("encode %q: %w", key, err)}
	}
	return setRaw(txn, key, b)
}

func setRaw(txn *badger.Txn, key, val []byte) error {
	if err := txn.Set(key, val); err != nil {
		return storageError{err}
	}
	return nil
}

func del(txn *badger.Txn, key []byte) error {
	if err := txn.Delete(key); err != nil {
		return storageError{err}
	}
	return nil
}

func exists(txn *badger.Txn, key []byte) (bool, error) {
	_, err := txn.Get(key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, badger.ErrKeyNotFound):
		return false, nil
	default:
		return false, storageError{err}
	}
}

func isNotFound(err error) bool { return errors.Is(err, badger.ErrKeyNotFound) }

// notFoundAs replaces Badger's not-found error with a domain error.
func notFoundAs(err, domain error) error {
	if isNotFound(err) {
		return domain
	}
	return err
}

func getCounter(txn *badger.Txn, key []byte) (uint64, error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, storageError{err}
	}
	var n uint64
	err = item.Value(func(b []byte) error {
		if len(b) != 8 {
			return storageError{fmt.Errorf("counter %q of %d bytes", key, len(b))}
		}
		n = binary.BigEndian.Uint64(b)
		return nil
	})
	return n, err
}

func setCounter(txn *badger.Txn, key []byte, n uint64) error {
	return setRaw(txn, key, binary.BigEndian.AppendUint64(nil, n))
}

func addCounter(txn *badger.Txn, key []byte, d int64) error {
	if d == 0 {
		return nil
	}
	n, err := getCounter(txn, key)
	if err != nil {
		return err
	}
	return setCounter(txn, key, uint64(int64(n)+d))
}

func requireBucket(txn *badger.Txn, name string) error {
	found, err := exists(txn, bucketKey(name))
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
			return nil, storageError{fmt.Errorf("inline data of %s/%s: %w", rec.Bucket, rec.Key, err)}
		}
		if o.Inline, err = item.ValueCopy(nil); err != nil {
			return nil, storageError{err}
		}
	}
	return &o, nil
}

// getRecord reads an object's record without its inline bytes.
func getRecord(txn *badger.Txn, bucket, key string) (*proto.Object, error) {
	var o proto.Object
	if err := get(txn, objectKey(bucket, key), &o); err != nil {
		return nil, notFoundAs(err, fmt.Errorf("object %s/%s: %w", bucket, key, ErrNoSuchKey))
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
		if err := setRaw(txn, k, obj.Inline); err != nil {
			return err
		}
		obj.Inline = nil
	} else if old != nil && inlineApart(old) {
		if err := del(txn, k); err != nil {
			return err
		}
	}
	return put(txn, objectKey(obj.Bucket, obj.Key), obj)
}

// deleteObjectRecord removes an object's record and apart inline bytes.
func deleteObjectRecord(txn *badger.Txn, old *proto.Object) error {
	if inlineApart(old) {
		if err := del(txn, dataKey(old.Bucket, old.Key)); err != nil {
			return err
		}
	}
	return del(txn, objectKey(old.Bucket, old.Key))
}

func sortedIDs(set map[proto.ChunkID]bool) []proto.ChunkID {
	return slices.Sorted(maps.Keys(set))
}
