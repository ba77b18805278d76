package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
)

// S3 drives any S3 endpoint through minio-go.
type S3 struct {
	endpoint string
	mc       *minio.Client
}

// NewS3 returns a target for an S3 endpoint (host:port, or a URL).
func NewS3(endpoint, access, secret, region string, secure bool) (*S3, error) {
	mc, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""), Secure: secure, Region: region})
	if err != nil {
		return nil, fmt.Errorf("bench: s3 client: %w", err)
	}
	return &S3{endpoint: endpoint, mc: mc}, nil
}

// Name implements Target.
func (s *S3) Name() string { return "s3 " + s.endpoint }

// EnsureBucket implements Target.
func (s *S3) EnsureBucket(ctx context.Context, bucket string) (bool, error) {
	ok, err := s.mc.BucketExists(ctx, bucket)
	if err != nil || ok {
		return false, err
	}
	return true, s.mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{})
}

// Put implements Target.
func (s *S3) Put(ctx context.Context, bucket, key string, data []byte) error {
	_, err := s.mc.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{PartSize: 64 << 20})
	return err
}

// Get implements Target.
func (s *S3) Get(ctx context.Context, bucket, key string) (int64, error) {
	o, err := s.mc.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return 0, err
	}
	defer o.Close()
	return io.Copy(io.Discard, o)
}

// List implements Target.
func (s *S3) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	var keys []string
	for o := range s.mc.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return keys, o.Err
		}
		keys = append(keys, o.Key)
	}
	return keys, nil
}

// Delete implements Target.
func (s *S3) Delete(ctx context.Context, bucket, key string) error {
	return s.mc.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{})
}

// DeleteBucket implements Target.
func (s *S3) DeleteBucket(ctx context.Context, bucket string) error {
	return s.mc.RemoveBucket(ctx, bucket)
}

// Native drives a Granary cluster through the Go client library.
type Native struct {
	c *client.Client
}

// NewNative returns a target for a cluster's masters.
func NewNative(c *client.Client) *Native { return &Native{c: c} }

// Name implements Target.
func (n *Native) Name() string { return "native" }

// EnsureBucket implements Target.
func (n *Native) EnsureBucket(ctx context.Context, bucket string) (bool, error) {
	err := n.c.CreateBucket(ctx, bucket)
	if proto.CodeOf(err) == proto.CodeBucketExists {
		return false, nil
	}
	return err == nil, err
}

// Put implements Target.
func (n *Native) Put(ctx context.Context, bucket, key string, data []byte) error {
	_, err := n.c.Put(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), nil)
	return err
}

// Get implements Target.
func (n *Native) Get(ctx context.Context, bucket, key string) (int64, error) {
	rc, err := n.c.Get(ctx, bucket, key)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(io.Discard, rc)
}

// List implements Target.
func (n *Native) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	req := proto.ListRequest{Bucket: bucket, Prefix: prefix}
	var keys []string
	for {
		res, err := n.c.List(ctx, req)
		if err != nil {
			return keys, err
		}
		for _, o := range res.Objects {
			keys = append(keys, o.Key)
		}
		if !res.IsTruncated {
			return keys, nil
		}
		req.StartAfter = res.NextStartAfter
	}
}

// Delete implements Target; deleting a missing key succeeds, as in S3.
func (n *Native) Delete(ctx context.Context, bucket, key string) error {
	err := n.c.Delete(ctx, bucket, key)
	if proto.CodeOf(err) == proto.CodeNoSuchKey {
		return nil
	}
	return err
}

// DeleteBucket implements Target.
func (n *Native) DeleteBucket(ctx context.Context, bucket string) error {
	return n.c.DeleteBucket(ctx, bucket)
}
