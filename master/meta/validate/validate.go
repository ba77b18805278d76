// Package validate checks records against the metadata limits and
// rules: objects and their headers, tags, layouts, access policies,
// retention and bucket access settings. It is pure (no storage, no I/O):
// the state machine (master/meta) runs the checks when it applies a
// command, and the master's API runs them before it proposes one. Its
// refusals wrap ErrInvalid or ErrTooLarge, which master/meta exports
// under the same names.
package validate

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/granary-store/granary/internal/proto"
)

var (
	// ErrInvalid means a request or command broke a validation rule.
	ErrInvalid = errors.New("invalid request")
	// ErrTooLarge means metadata exceeds a limit.
	ErrTooLarge = errors.New("metadata too large")
)

// Object checks an object record a client commits against the
// metadata limits. It refuses Parts: only a multipart completion sets them.
func Object(o *proto.Object) error {
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
	if err := UserMeta(o); err != nil {
		return err
	}
	if err := Headers(o.ObjectHeaders); err != nil {
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
	return Layout(o, bad)
}

// UserMeta checks an object's user metadata: non-empty valid UTF-8 names
// and valid UTF-8 values, at most proto.MaxUserMetaBytes in all.
func UserMeta(o *proto.Object) error {
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

// Headers checks the stored S3 headers: valid UTF-8 of at most
// proto.MaxObjectHeaders bytes in all, known checksum names, and a checksum
// value only with its algorithm.
func Headers(h proto.ObjectHeaders) error {
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
	if err := Checksum(h.Checksum); err != nil {
		return err
	}
	if err := Tagging(h.Tagging); err != nil {
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

// Tagging checks an object's tag set in its stored form
// (proto.EncodeTags): S3's limits, and the canonical encoding, so that
// equal tag sets are equal strings.
func Tagging(s string) error {
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

// Checksum checks the length of a checksum value.
func Checksum(v string) error {
	if len(v) > proto.MaxChecksumLen {
		return fmt.Errorf("checksum of %d bytes exceeds %d: %w", len(v), proto.MaxChecksumLen, ErrInvalid)
	}
	return nil
}

// stripe checks an erasure-coded extent's shape: a valid rs-K-M
// policy, a positive cell, K+M distinct shards, the first one named as the
// extent's chunk, no chunk offset.
func stripe(e proto.Extent) error {
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

// Layout checks that extents tile [0, Size) in order, or that the
// inline data is the whole object; bad words a refusal.
func Layout(o *proto.Object, bad func(string, ...any) error) error {
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
		if err := stripe(e); err != nil {
			return bad("extent %d: %v", i, err)
		}
		next += e.Length
	}
	if next != o.Size {
		return bad("extents cover %d bytes of %d", next, o.Size)
	}
	return nil
}

// AccessPolicy checks a policy's name and the form of its
// document (proto.ValidPolicyDocument).
func AccessPolicy(p proto.AccessPolicy) error {
	if err := proto.ValidID("access policy", p.Name); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := proto.ValidPolicyDocument(p.Document); err != nil {
		return fmt.Errorf("access policy %s: %w: %w", p.Name, ErrInvalid, err)
	}
	return nil
}

// Retention checks an object lock's mode and retain-until date.
func Retention(mode, until string) error {
	if mode != proto.LockGovernance && mode != proto.LockCompliance {
		return fmt.Errorf("retention mode %q: %w", mode, ErrInvalid)
	}
	if _, err := time.Parse(time.RFC3339Nano, until); err != nil {
		return fmt.Errorf("retain-until date %q: %w", until, ErrInvalid)
	}
	return nil
}

// BucketAccess checks a new bucket's access settings.
func BucketAccess(b *proto.Bucket) error {
	if err := proto.ValidOwnership(b.Ownership); err != nil {
		return fmt.Errorf("bucket %s: %w: %w", b.Name, ErrInvalid, err)
	}
	if b.ACL != nil {
		if err := proto.ValidACL(*b.ACL); err != nil {
			return fmt.Errorf("bucket %s: %w: %w", b.Name, ErrInvalid, err)
		}
	}
	if b.Policy != "" {
		if err := proto.ValidPolicyDocument(b.Policy); err != nil {
			return fmt.Errorf("bucket %s: %w: %w", b.Name, ErrInvalid, err)
		}
	}
	return nil
}
