package meta

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"

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

// ValidateObject checks an object record a client commits against the
// metadata limits. It refuses Parts: only a multipart completion sets them.
func ValidateObject(o *proto.Object) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("object %s/%s: %s: %w", o.Bucket, o.Key, fmt.Sprintf(format, a...), ErrInvalid)
	}
	if err := proto.ValidBucketName(o.Bucket); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := proto.ValidKey(o.Key); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(o.ContentType) > proto.MaxContentType || !utf8.ValidString(o.ContentType) {
		return bad("content type must be valid UTF-8 of at most %d bytes", proto.MaxContentType)
	}
	if err := validateMeta(o); err != nil {
		return err
	}
	if err := validateHeaders(o.ObjectHeaders); err != nil {
		return fmt.Errorf("object %s/%s: %w", o.Bucket, o.Key, err)
	}
	if len(o.Inline) > proto.MaxInlineBytes {
		return fmt.Errorf("object %s/%s: inline data of %d bytes exceeds %d: %w", o.Bucket, o.Key, len(o.Inline), proto.MaxInlineBytes, ErrTooLarge)
	}
	if len(o.Extents) > proto.MaxExtents {
		return fmt.Errorf("object %s/%s: %d extents exceed %d: %w", o.Bucket, o.Key, len(o.Extents), proto.MaxExtents, ErrTooLarge)
	}
	if len(o.Inline) > 0 && len(o.Extents) > 0 {
		return bad("has both inline data and extents")
	}
	if len(o.Parts) > 0 { // only a multipart completion sets them
		return bad("a commit cannot set parts")
	}
	return validateLayout(o, bad)
}

func validateMeta(o *proto.Object) error {
	total := 0
	for k, v := range o.Meta {
		if k == "" || !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("object %s/%s: user metadata must be non-empty valid UTF-8 names and values: %w", o.Bucket, o.Key, ErrInvalid)
		}
		total += len(k) + len(v)
	}
	if total > proto.MaxUserMetaBytes {
		return fmt.Errorf("object %s/%s: user metadata of %d bytes exceeds %d: %w", o.Bucket, o.Key, total, proto.MaxUserMetaBytes, ErrTooLarge)
	}
	return nil
}

// validateHeaders checks the stored S3 headers: valid UTF-8 of at most
// proto.MaxObjectHeaders bytes in all, known checksum names, and a checksum
// value only with its algorithm.
func validateHeaders(h proto.ObjectHeaders) error {
	vals := []string{h.CacheControl, h.ContentDisposition, h.ContentEncoding, h.ContentLanguage,
		h.Expires, h.StorageClass, h.WebsiteRedirect, h.ChecksumAlgorithm, h.ChecksumType, h.Checksum}
	total := 0
	for _, v := range vals {
		if !utf8.ValidString(v) {
			return fmt.Errorf("headers must be valid UTF-8: %w", ErrInvalid)
		}
		total += len(v)
	}
	if total > proto.MaxObjectHeaders {
		return fmt.Errorf("headers of %d bytes exceed %d: %w", total, proto.MaxObjectHeaders, ErrTooLarge)
	}
	switch h.ChecksumAlgorithm {
	case "", proto.ChecksumCRC32, proto.ChecksumCRC32C, proto.ChecksumCRC64NVME, proto.ChecksumSHA1, proto.ChecksumSHA256,
		proto.ChecksumMD5, proto.ChecksumSHA512:
	default:
		return fmt.Errorf("checksum algorithm %q is not CRC32, CRC32C, CRC64NVME, SHA1, SHA256, MD5 or SHA512: %w", h.ChecksumAlgorithm, ErrInvalid)
	}
	if h.ChecksumType != "" && h.ChecksumType != proto.ChecksumFullObject && h.ChecksumType != proto.ChecksumComposite {
		return fmt.Errorf("checksum type %q is not FULL_OBJECT or COMPOSITE: %w", h.ChecksumType, ErrInvalid)
	}
	if err := validateChecksum(h.Checksum); err != nil {
		return err
	}
	if err := ValidateTagging(h.Tagging); err != nil {
		return err
	}
	if h.Checksum != "" && h.ChecksumAlgorithm == "" {
		return fmt.Errorf("checksum without an algorithm: %w", ErrInvalid)
	}
	if h.Owner != "" {
		if err := proto.ValidID("owner", h.Owner); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	if h.ACL != nil {
		if err := proto.ValidACL(*h.ACL); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalid, err)
		}
	}
	return nil
}

// ValidateTagging checks an object's tag set in its stored form
// (proto.EncodeTags): S3's limits, and the canonical encoding, so that
// equal tag sets are equal strings.
func ValidateTagging(s string) error {
	tags, err := proto.ParseTags(s)
	if err == nil {
		err = proto.ValidTags(tags, proto.MaxObjectTags)
	}
	if err != nil {
		return fmt.Errorf("tagging: %w: %w", ErrInvalid, err)
	}
	if proto.EncodeTags(tags) != s {
		return fmt.Errorf("tagging %q is not in canonical form: %w", s, ErrInvalid)
	}
	return nil
}

// validateChecksum checks the length of a checksum value.
func validateChecksum(v string) error {
	if len(v) > proto.MaxChecksumLen {
		return fmt.Errorf("checksum of %d bytes exceeds %d: %w", len(v), proto.MaxChecksumLen, ErrInvalid)
	}
	return nil
}

// validateLayout checks that extents tile [0, Size) in order, or that the
// inline data is the whole object.
// validStripe checks an erasure-coded extent's shape: a valid rs-K-M
// policy, a positive cell, K+M distinct shards, the first one named as the
// extent's chunk, no chunk offset.
func validStripe(e proto.Extent) error {
	st := e.Stripe
	if st == nil {
		return nil
	}
	p := proto.ErasureCoded(st.K, st.M)
	if err := p.Validate(); err != nil {
		return err
	}
	if st.Cell <= 0 || st.Cell > 64<<20 || len(st.Shards) != st.K+st.M || e.ChunkOffset != 0 || e.Chunk != st.Shards[0] {
		return fmt.Errorf("stripe %s needs a cell of 1 byte to 64 MiB, %d shards, chunk = first shard, no chunk offset", p, st.K+st.M)
	}
	seen := map[proto.ChunkID]bool{}
	for _, id := range st.Shards {
		if seen[id] {
			return fmt.Errorf("stripe %s names shard chunk %d twice", p, id)
		}
		seen[id] = true
	}
	return nil
}

func validateLayout(o *proto.Object, bad func(string, ...any) error) error {
	if o.Size < 0 {
		return bad("negative size %d", o.Size)
	}
	if len(o.Extents) == 0 {
		if int64(len(o.Inline)) != o.Size {
			return bad("size %d but %d inline bytes", o.Size, len(o.Inline))
		}
		return nil
	}
	var next int64
	for i, e := range o.Extents {
		if e.Offset != next || e.Length <= 0 {
			return bad("extent %d covers [%d,+%d), want offset %d and a positive length", i, e.Offset, e.Length, next)
		}
		if err := validStripe(e); err != nil {
			return bad("extent %d: %v", i, err)
		}
		next += e.Length
	}
	if next != o.Size {
		return bad("extents cover %d bytes of %d", next, o.Size)
	}
	return nil
}
