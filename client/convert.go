package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// Conversion between data policies. A bucket's policy applies to its
// writes; Convert rewrites what is already stored: each object's current
// version is read, written again under the bucket's new policy (stripes,
// or replicated chunks), and its extents are swapped for the new ones in
// one Raft command only if the object did not change meanwhile
// (compare-and-set on its version; an object overwritten during its
// conversion keeps the new write, and the conversion's chunks are
// collected as orphans). Version, ETag and times stay; the old chunks are
// freed. Noncurrent versions of versioned buckets are not converted.

// SetBucketDataPolicy changes the data policy of a bucket's later writes:
// rep-N (which also sets the replication the healer keeps for its
// replicated chunks) or rs-K-M. A policy the cluster cannot place is
// ErrNoServers-like refused.
func (c *Client) SetBucketDataPolicy(ctx context.Context, bucket, policy string) error {
	if _, err := proto.ParseDataPolicy(policy); err != nil {
		return fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	err := classify(c.master.SetBucketConfig(ctx, proto.BucketConfigRequest{Bucket: bucket, DataPolicy: &policy}))
	c.mu.Lock()
	delete(c.policies, bucket) // this client's next write sees the new policy
	c.mu.Unlock()
	return err
}

// ConvertStats counts a conversion's work.
type ConvertStats struct {
	Converted, Bytes int64 // objects rewritten, and their bytes
	Already          int64 // objects stored under the policy already, or inline
	Changed          int64 // objects overwritten or deleted during their conversion (left as written)
}

// Convert sets bucket's data policy to policy and rewrites every object
// under prefix that is stored otherwise (see the comment above); progress,
// when set, is called after each object. It stops at the first error other
// than an object changing meanwhile.
func (c *Client) Convert(ctx context.Context, bucket, prefix, policy string, progress func(ConvertStats)) (ConvertStats, error) {
	var st ConvertStats
	p, err := proto.ParseDataPolicy(policy)
	if err != nil {
		return st, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	if err := c.SetBucketDataPolicy(ctx, bucket, policy); err != nil {
		return st, err
	}
	req := ListRequest{Bucket: bucket, Prefix: prefix, MaxKeys: 1000}
	for {
		page, err := c.List(ctx, req)
		if err != nil {
			return st, err
		}
		for _, o := range page.Objects {
			n, err := c.convertObject(ctx, bucket, o.Key, p)
			switch {
			case errors.Is(err, errStoredAlready):
				st.Already++
			case errors.Is(err, ErrPrecondition), errors.Is(err, ErrNoSuchKey):
				st.Changed++
			case err != nil:
				return st, fmt.Errorf("convert %s/%s: %w", bucket, o.Key, err)
			default:
				st.Converted++
				st.Bytes += n
			}
			if progress != nil {
				progress(st)
			}
		}
		if !page.IsTruncated || page.NextStartAfter == "" {
			return st, nil
		}
		req.StartAfter = page.NextStartAfter
	}
}

var errStoredAlready = errors.New("client: stored under the policy already")

// convertObject rewrites one object's current version under policy p and
// swaps its extents if it has not changed; it returns the bytes written.
func (c *Client) convertObject(ctx context.Context, bucket, key string, p proto.DataPolicy) (int64, error) {
	obj, err := c.Open(ctx, bucket, key)
	if err != nil {
		return 0, err
	}
	info := obj.Info()
	if len(info.Extents) == 0 || p.Lays(info.Extents) {
		return 0, errStoredAlready
	}
	w, stop, err := c.newPutter(ctx, bucket, nil)
	if err != nil {
		return 0, err
	}
	defer stop()
	w.stripe = nil
	if p.IsErasure() {
		w.stripe = &proto.StripeShape{K: p.K, M: p.M}
	}
	extents, n, err := w.chunks(io.NewSectionReader(obj, 0, info.Size), info.Size)
	if err != nil {
		return 0, err
	}
	err = c.master.ReplaceExtents(ctx, proto.ReplaceExtentsRequest{Bucket: bucket, Key: key, IfVersion: info.Version,
		Extents: extents, Written: w.written})
	return n, classify(err)
}

// Convert is Client.Convert, for an Admin made with Client.Admin (an
// Admin from NewAdmin has no data path and refuses).
func (a *Admin) Convert(ctx context.Context, bucket, prefix, policy string, progress func(ConvertStats)) (ConvertStats, error) {
	if a.data == nil {
		return ConvertStats{}, fmt.Errorf("%w: converting data needs an Admin from Client.Admin", ErrBadRequest)
	}
	return a.data.Convert(ctx, bucket, prefix, policy, progress)
}

// SetBucketDataPolicy is Client.SetBucketDataPolicy.
func (a *Admin) SetBucketDataPolicy(ctx context.Context, bucket, policy string) error {
	if _, err := proto.ParseDataPolicy(policy); err != nil {
		return fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	return classify(a.master.SetBucketConfig(ctx, proto.BucketConfigRequest{Bucket: bucket, DataPolicy: &policy}))
}

// StorageClassPolicy returns the data policy the cluster maps an S3
// storage class to (--storage-class), and whether it maps it at all.
func (c *Client) StorageClassPolicy(ctx context.Context, class string) (string, bool, error) {
	cc, err := c.clusterConfig(ctx)
	if err != nil {
		return "", false, err
	}
	p, ok := cc.StorageClasses[class]
	return p, ok, nil
}

// SetBucketConversion sets a bucket's background conversion: objects
// older than after are rewritten as stripes of policy (rs-K-M) by the
// leader, at the cluster's bounded rate. after 0 turns conversion off for
// the bucket; a negative after removes the bucket's setting, so the
// cluster's (--convert-after) applies again.
func (a *Admin) SetBucketConversion(ctx context.Context, bucket, policy string, after time.Duration) error {
	r := proto.ConvertRule{AfterSeconds: int64(after / time.Second)}
	switch {
	case after < 0:
		r.AfterSeconds = -1
	case after > 0 && after < time.Second:
		return fmt.Errorf("%w: a conversion age under a second", ErrBadRequest)
	case after > 0:
		p, err := proto.ParseDataPolicy(policy)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrBadRequest, err)
		}
		if !p.IsErasure() {
			return fmt.Errorf("%w: conversion to %s: the target must be erasure-coded (rs-K-M)", ErrBadRequest, p)
		}
		r.Policy = p.String()
	}
	return classify(a.master.SetBucketConfig(ctx, proto.BucketConfigRequest{Bucket: bucket, Convert: &r}))
}
