package meta

import (
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/kv"
)

// Bounds of a prefix rename, which is one Badger transaction: every key
// moved rewrites its record (and its inline bytes) and its chunk index
// entries, so the keys and the bytes moved are bounded well inside the
// transaction limits of the store's options.
const (
	MaxPrefixRenameKeys  = 10000
	MaxPrefixRenameBytes = 4 << 20
)

// applyRenamePrefix moves a directory: every key under From to the same
// name under To, atomically. It refuses a To under From (or the reverse), a
// To that holds anything but its own marker (ErrConflict), a versioned
// bucket, and more than MaxPrefixRenameKeys keys or MaxPrefixRenameBytes
// of records (ErrTooLarge) before changing anything. The answer is the
// number of keys moved.
func applyRenamePrefix(txn *badger.Txn, index uint64, c *RenamePrefix) (any, error) {
	if !strings.HasSuffix(c.From, "/") || !strings.HasSuffix(c.To, "/") || strings.HasPrefix(c.To, c.From) || strings.HasPrefix(c.From, c.To) {
		return nil, fmt.Errorf("rename %q to %q: both must end in / and neither contain the other: %w", c.From, c.To, ErrInvalid)
	}
	for _, p := range []string{c.From, c.To} {
		if err := proto.ValidKey(p); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
		}
	}
	b, err := getBucket(txn, c.Bucket)
	if err != nil {
		return nil, err
	}
	if b.Versioning != "" {
		return nil, fmt.Errorf("bucket %s is versioned: rename would rewrite history: %w", c.Bucket, ErrInvalid)
	}
	if busy, err := prefixHolds(txn, c.Bucket, c.To); err != nil || busy != "" {
		if err == nil {
			err = fmt.Errorf("rename to %s: %s is there: %w", c.To, busy, ErrConflict)
		}
		return nil, err
	}
	keys, err := prefixKeys(txn, c.Bucket, c.From)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		to := c.To + k[len(c.From):]
		if err := proto.ValidKey(to); err != nil {
			return nil, fmt.Errorf("rename %s: %w: %v", k, ErrInvalid, err)
		}
		if _, err := applyRenameObject(txn, index, &RenameObject{Bucket: c.Bucket, From: k, To: to, Modified: c.Modified}); err != nil {
			return nil, fmt.Errorf("rename %s: %w", k, err)
		}
	}
	return uint64(len(keys)), nil
}

// prefixKeys lists the keys under prefix, refusing more than the bounds.
func prefixKeys(txn *badger.Txn, bucket, prefix string) ([]string, error) {
	base := objectPrefix(bucket)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: append(base, prefix...)})
	defer it.Close()
	var keys []string
	var size int64
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		keys = append(keys, string(item.Key()[len(base):]))
		raw, err := item.ValueCopy(nil)
		if err != nil {
			return nil, kv.Storage(err)
		}
		var o proto.Object
		if err := kv.Decode(item.Key(), raw, &o); err != nil {
			return nil, err
		}
		size += 2*int64(len(item.Key())) + int64(len(raw)) + 16*int64(len(o.Extents)+1)
		if inlineApart(&o) {
			size += o.Size // its bytes move too
		}
		if len(keys) > MaxPrefixRenameKeys || size > MaxPrefixRenameBytes {
			return nil, fmt.Errorf("rename of %s: more than %d keys or %d bytes of records: %w", prefix, MaxPrefixRenameKeys, MaxPrefixRenameBytes, ErrTooLarge)
		}
	}
	return keys, nil
}

// prefixHolds returns a key under prefix other than the prefix itself (a
// directory's marker), or "".
func prefixHolds(txn *badger.Txn, bucket, prefix string) (string, error) {
	base := objectPrefix(bucket)
	it := txn.NewIterator(badger.IteratorOptions{Prefix: append(base, prefix...)})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		if k := string(it.Item().Key()[len(base):]); k != prefix {
			return k, nil
		}
	}
	return "", nil
}
