package client_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
)

func TestWireConstants(t *testing.T) {
	if client.MustNotExist != proto.MustNotExist || client.MaxPartNumber != proto.MaxPartNumber {
		t.Fatal("client constants differ from the wire's")
	}
	pairs := [][2]string{
		{client.ChecksumCRC32, proto.ChecksumCRC32}, {client.ChecksumCRC32C, proto.ChecksumCRC32C},
		{client.ChecksumCRC64NVME, proto.ChecksumCRC64NVME}, {client.ChecksumSHA1, proto.ChecksumSHA1},
		{client.ChecksumSHA256, proto.ChecksumSHA256}, {client.ChecksumMD5, proto.ChecksumMD5},
		{client.ChecksumSHA512, proto.ChecksumSHA512}, {client.ChecksumFullObject, proto.ChecksumFullObject},
		{client.ChecksumComposite, proto.ChecksumComposite},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("client checksum name %q, wire %q", p[0], p[1])
		}
	}
}

// TestSentinels checks that the cluster's answers match the client's
// sentinels with errors.Is, and keep their code and message.
func TestSentinels(t *testing.T) {
	c, cl := startData(t, 1)
	ctx := ctxT(t, 30*time.Second)
	put := func(key string, opts *client.PutOptions) error {
		_, err := cl.Put(ctx, "data", key, bytes.NewReader([]byte("x")), 1, opts)
		return err
	}
	if err := put("k", nil); err != nil {
		t.Fatal(err)
	}
	_, statErr := cl.Stat(ctx, "data", "missing")
	_, openErr := cl.Open(ctx, "data", "missing")
	_, nbErr := cl.Stat(ctx, "nobucket", "k")
	_, _, listPartsErr := cl.ListParts(ctx, "data", "no-such-upload")
	_, keyErr := c.DataClient(nil).Admin().Key(ctx, "NOSUCHKEY")
	cases := []struct {
		name string
		err  error
		want error
		code proto.Code
	}{
		{"stat missing", statErr, client.ErrNoSuchKey, proto.CodeNoSuchKey},
		{"open missing", openErr, client.ErrNoSuchKey, proto.CodeNoSuchKey},
		{"missing bucket", nbErr, client.ErrNoSuchBucket, proto.CodeNoSuchBucket},
		{"bucket exists", cl.CreateBucket(ctx, "data"), client.ErrBucketExists, proto.CodeBucketExists},
		{"bucket not empty", cl.DeleteBucket(ctx, "data"), client.ErrBucketNotEmpty, proto.CodeBucketNotEmpty},
		{"create-only put", put("k", &client.PutOptions{IfVersion: client.MustNotExist}), client.ErrPrecondition, proto.CodePrecondition},
		{"if-etag put", put("k", &client.PutOptions{IfETag: "nope"}), client.ErrPrecondition, proto.CodePrecondition},
		{"conditional delete", cl.DeleteIf(ctx, "data", "k", client.DeleteOptions{IfETag: "nope"}), client.ErrPrecondition, proto.CodePrecondition},
		{"no upload", listPartsErr, client.ErrNoSuchUpload, proto.CodeNoSuchUpload},
		{"no access key", keyErr, client.ErrNotFound, proto.CodeNotFound},
	}
	for _, tc := range cases {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v is not %v", tc.name, tc.err, tc.want)
		}
		if proto.CodeOf(tc.err) != tc.code {
			t.Errorf("%s: code %q, want %q", tc.name, proto.CodeOf(tc.err), tc.code)
		}
		if tc.err != nil && !strings.Contains(tc.err.Error(), string(tc.code)) {
			t.Errorf("%s: message %q lost the code", tc.name, tc.err)
		}
		if errors.Is(tc.err, client.ErrCorrupt) || (tc.want != client.ErrNoSuchKey && errors.Is(tc.err, client.ErrNoSuchKey)) {
			t.Errorf("%s: %v matches another sentinel", tc.name, tc.err)
		}
	}
	if _, err := cl.Open(ctx, "data", "bad\x00key"); !errors.Is(err, client.ErrInvalidName) {
		t.Errorf("invalid key: %v is not ErrInvalidName", err)
	}
	if _, err := cl.Put(ctx, "Bad_Bucket", "k", bytes.NewReader(nil), 0, nil); !errors.Is(err, client.ErrInvalidName) || !errors.Is(err, proto.ErrInvalidName) {
		t.Errorf("invalid bucket: %v is not ErrInvalidName", err)
	}
}
