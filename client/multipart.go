package client

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/granary-store/granary/internal/proto"
)

// CreateUpload starts a multipart upload of bucket/key.
func (c *Client) CreateUpload(ctx context.Context, bucket, key string, opts *PutOptions) (Upload, error) {
	if err := validBucketKey(bucket, key); err != nil {
		return proto.Upload{}, err
	}
	u := proto.Upload{Bucket: bucket, Key: key}
	if opts != nil {
		u.ContentType, u.Meta, u.ObjectHeaders = opts.ContentType, opts.Meta, opts.ObjectHeaders
	}
	u, err := c.master.CreateUpload(ctx, u)
	return u, classify(err)
}

// PutPart stores part number n of an upload from r (size exact, or -1)
// and returns its record (ETag: MD5 of the part). A part uploaded again
// replaces the earlier one. opts.Checksum becomes the part's checksum.
// opts.BeforeCommit, when set, runs before the part is committed, with a
// record of the part's bucket, size, ETag and checksum; the Checksum it
// leaves there is the one committed.
func (c *Client) PutPart(ctx context.Context, bucket, uploadID string, n int, r io.Reader, size int64, opts *PutOptions) (Part, error) {
	if n < 1 || n > proto.MaxPartNumber {
		return proto.Part{}, fmt.Errorf("client: part number %d is not 1 to %d", n, proto.MaxPartNumber)
	}
	w, stop, err := c.newPutter(ctx, bucket, opts)
	if err != nil {
		return proto.Part{}, classify(err)
	}
	defer stop()
	opts = w.opts
	extents, got, err := w.chunks(r, size)
	if err != nil {
		return proto.Part{}, classify(err)
	}
	part := proto.Part{Number: n, ETag: hex.EncodeToString(w.md5.sum()), Size: got, Extents: extents, Checksum: opts.Checksum}
	if opts.BeforeCommit != nil {
		probe := proto.Object{Bucket: bucket, Size: got, ETag: part.ETag}
		probe.Checksum = part.Checksum
		if err := opts.BeforeCommit(&probe); err != nil {
			return proto.Part{}, err
		}
		part.Checksum = probe.Checksum
	}
	stored, err := c.master.PutPart(ctx, proto.PartRequest{Bucket: bucket, UploadID: uploadID, Part: part, Written: w.written})
	if err != nil {
		return proto.Part{}, classify(fmt.Errorf("client: commit part %d of upload %s: %w", n, uploadID, err))
	}
	stored.Extents = nil
	return stored, nil
}

// CompleteUpload makes the object from the named parts, atomically,
// without copying data.
func (c *Client) CompleteUpload(ctx context.Context, bucket, uploadID string, parts []CompletePart) (ObjectInfo, error) {
	return c.CompleteUploadIf(ctx, bucket, uploadID, parts, nil)
}

// CompleteOptions are the conditions (and checksum) of CompleteUploadIf;
// nil or the zero value has none.
type CompleteOptions struct {
	// IfETag requires the object the upload replaces to have this ETag
	// (S3's If-Match, quotes ignored); with no object, the completion fails
	// with ErrNoSuchKey.
	IfETag string
	// IfNoneMatch requires that there is no object yet (If-None-Match: *).
	IfNoneMatch bool
	// Checksum is the object's checksum value, in the algorithm and type
	// the upload was created with; the caller computes it (from the parts'
	// checksums for a composite one).
	Checksum string
}

// CompleteUploadIf is CompleteUpload under conditions checked atomically
// with the completion. A failed condition (ErrPrecondition) leaves
// the upload in place.
func (c *Client) CompleteUploadIf(ctx context.Context, bucket, uploadID string, parts []CompletePart, opts *CompleteOptions) (ObjectInfo, error) {
	req := proto.CompleteRequest{Bucket: bucket, UploadID: uploadID, Parts: parts}
	if opts != nil {
		req.IfETag, req.IfNoneMatch, req.Checksum = opts.IfETag, opts.IfNoneMatch, opts.Checksum
	}
	o, err := c.master.CompleteUpload(ctx, req)
	return o, classify(err)
}

// AbortUpload drops an upload; its parts' chunks are collected.
func (c *Client) AbortUpload(ctx context.Context, bucket, uploadID string) error {
	return classify(c.master.AbortUpload(ctx, proto.UploadRef{Bucket: bucket, UploadID: uploadID}))
}

// ListParts returns an upload and its parts.
func (c *Client) ListParts(ctx context.Context, bucket, uploadID string) (Upload, []Part, error) {
	u, parts, err := c.master.ListParts(ctx, bucket, uploadID)
	return u, parts, classify(err)
}

// ListUploads returns the in-progress uploads of a bucket under prefix.
func (c *Client) ListUploads(ctx context.Context, bucket, prefix string) ([]Upload, error) {
	us, err := c.master.ListUploads(ctx, bucket, prefix)
	return us, classify(err)
}
