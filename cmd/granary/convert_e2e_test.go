package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestServerBackgroundConversion: granary server --convert-after 1s
// --convert-policy rs-2-1 turns a replicated object into stripes on its
// own; admin status shows it (JSON and text); a bucket set to
// --convert-after 0 keeps its objects replicated; bad flags are usage
// errors.
func TestServerBackgroundConversion(t *testing.T) {
	for _, args := range [][]string{{"--convert-policy", "rep-3"}, {"--convert-after", "soon"}, {"--convert-policy", "rs-4-2"}} {
		if _, stderr, code := cli(t, nil, append([]string{"server", "--chunkservers", "3"}, args...)...); code != 2 || !strings.Contains(stderr, "convert") {
			t.Errorf("server %v: exit %d, %q", args, code, stderr)
		}
	}
	dir := filepath.Join(t.TempDir(), "data")
	web, s3 := freeAddr(t), freeAddr(t)
	p := start(t, nil, "server", "--dir", dir, "--web-addr", web, "--raft-addr", freeAddr(t), "--s3-addr", s3,
		"--chunkservers", "3", "--no-sync", "--convert-after", "1s", "--convert-policy", "rs-2-1", "--convert-bandwidth", "64MiB")
	waitUntil(t, 30*time.Second, "the server", func() bool { return strings.Contains(p.out.String(), "granary server: S3 on") })
	mc := s3Client(t, s3, p.out.String())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env := []string{"GRANARY_MASTERS=" + web}
	secret := filepath.Join(dir, "cluster-secret")
	for _, b := range []string{"cold", "kept"} {
		if err := mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	mustCLI(t, env, "admin", "--secret-file", secret, "set-policy", "kept", "rs-2-1", "--convert-after", "0")
	data := bytes.Repeat([]byte("granary "), 300_000)
	for _, b := range []string{"cold", "kept"} {
		if _, err := mc.PutObject(ctx, b, "doc", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var st struct {
		Conversion struct {
			ConvertedObjects        int64
			ConvertedBytes          int64
			BandwidthBytesPerSecond int64
		}
	}
	waitUntil(t, time.Minute, "the background conversion", func() bool {
		out := mustCLI(t, env, "admin", "--secret-file", secret, "status", "--json")
		return json.Unmarshal([]byte(out), &st) == nil && st.Conversion.ConvertedObjects >= 1
	})
	if st.Conversion.ConvertedObjects != 1 || st.Conversion.ConvertedBytes != int64(len(data)) || st.Conversion.BandwidthBytesPerSecond != 64<<20 {
		t.Errorf("status.conversion: %+v (the bucket set to 0 was converted too?)", st.Conversion)
	}
	if out := mustCLI(t, env, "admin", "--secret-file", secret, "status"); !strings.Contains(out, "conversion: 0 objects pending") || !strings.Contains(out, "1 converted") {
		t.Errorf("admin status: %s", out)
	}
	o, err := mc.GetObject(ctx, "cold", "doc", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(o); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back after the conversion: %d bytes, %v", len(got), err)
	}
}
