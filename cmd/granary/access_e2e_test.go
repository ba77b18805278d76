package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestServerAccessControl is the access-control issue's "done when", on
// granary server --tls: a second user given read-only access to one
// bucket reads it and nothing else; an anonymous HTTPS GET reads a bucket
// made public and nothing else; every change is in the audit log with who
// made it.
func TestServerAccessControl(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	auditFile := filepath.Join(t.TempDir(), "audit.log")
	web, raftAddr, s3 := freeAddr(t), freeAddr(t), freeAddr(t)
	p := start(t, nil, "server", "--tls", "--dir", dir, "--web-addr", web, "--raft-addr", raftAddr, "--s3-addr", s3,
		"--chunkservers", "1", "--replication", "1", "--audit-log", auditFile)
	waitUntil(t, 30*time.Second, "the server to say it is serving", func() bool {
		return strings.Contains(p.out.String(), "granary server: S3 on https://")
	})
	secretFile := filepath.Join(dir, "cluster-secret")
	env := []string{"GRANARY_MASTERS=" + web}
	admin := func(args ...string) string {
		t.Helper()
		out, code := granary(t, env, append([]string{"admin", "--secret-file", secretFile}, args...)...)
		if code != 0 {
			t.Fatalf("granary admin %v: exit %d\n%s", args, code, out)
		}
		return out
	}
	for _, b := range []string{"photos", "private", "site"} {
		admin("create-bucket", b)
	}
	// A data policy the cluster cannot place, or cannot parse, is refused
	// when the bucket is created.
	for policy, want := range map[string]string{"rs-4-2": "needs 6 chunk servers", "rs-4": "want rs-K-M"} {
		_, out, code := cli(t, env, "admin", "--secret-file", secretFile, "create-bucket", "cold", "--policy", policy)
		if code == 0 || !strings.Contains(out, want) {
			t.Fatalf("create-bucket --policy %s: exit %d, %q (want %q)", policy, code, out, want)
		}
	}
	admin("create-user", "bob")
	var key struct{ AccessKey, SecretKey string }
	if err := json.Unmarshal([]byte(admin("create-key", "bob", "--json")), &key); err != nil {
		t.Fatal(err)
	}
	doc := filepath.Join(t.TempDir(), "read-photos.json")
	os.WriteFile(doc, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::photos","arn:aws:s3:::photos/*"]}]}`), 0o600)
	admin("put-access-policy", "read-photos", doc)
	admin("attach-access-policy", "bob", "read-photos")

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(mustRead(t, filepath.Join(dir, "tls", "ca.pem")))
	s3Client := func(access, secret string) *minio.Client {
		tr, err := minio.DefaultTransport(true)
		if err != nil {
			t.Fatal(err)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
		mc, err := minio.New(s3, &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""), Secure: true, Transport: tr})
		if err != nil {
			t.Fatal(err)
		}
		return mc
	}
	rootAK, rootSK := s3Keys(p.out.String())
	root, bob := s3Client(rootAK, rootSK), s3Client(key.AccessKey, key.SecretKey)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	put := func(mc *minio.Client, bucket, k, body string) error {
		_, err := mc.PutObject(ctx, bucket, k, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
		return err
	}
	for _, b := range []string{"photos", "private", "site"} {
		if err := put(root, b, "index.html", "in "+b); err != nil {
			t.Fatal(err)
		}
	}
	get := func(mc *minio.Client, bucket, k string) (string, error) {
		o, err := mc.GetObject(ctx, bucket, k, minio.GetObjectOptions{})
		if err != nil {
			return "", err
		}
		defer o.Close()
		b, err := io.ReadAll(o)
		return string(b), err
	}
	if got, err := get(bob, "photos", "index.html"); err != nil || got != "in photos" {
		t.Fatalf("bob reads photos: %q %v", got, err)
	}
	if _, err := get(bob, "private", "index.html"); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("bob reads private: %v", err)
	}
	if err := put(bob, "photos", "index.html", "overwritten"); minio.ToErrorResponse(err).Code != "AccessDenied" {
		t.Fatalf("bob writes photos: %v", err)
	}
	if bs, err := bob.ListBuckets(ctx); err != nil || len(bs) != 1 || bs[0].Name != "photos" {
		t.Fatalf("bob lists buckets: %v %v", bs, err)
	}

	// The site bucket made public: an anonymous HTTPS GET reads it, and
	// nothing else.
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}`
	if err := root.SetBucketPolicy(ctx, "site", public); err != nil {
		t.Fatal(err)
	}
	anon := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	anonGet := func(path string) int {
		resp, err := anon.Get("https://" + s3 + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitUntil(t, 10*time.Second, "anonymous reads of the public bucket", func() bool { return anonGet("/site/index.html") == http.StatusOK })
	for _, path := range []string{"/photos/index.html", "/private/index.html", "/site", "/"} {
		if st := anonGet(path); st != http.StatusForbidden {
			t.Fatalf("anonymous GET %s: %d, want 403", path, st)
		}
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("server after SIGTERM: %v", err)
	}
	log := string(mustRead(t, auditFile))
	var bobDenied, rootPolicy bool
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		var r struct{ User, AccessKey, Action, Result, Bucket string }
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		bobDenied = bobDenied || r.User == "bob" && r.AccessKey == key.AccessKey && r.Action == "PutObject" && r.Result == "denied"
		rootPolicy = rootPolicy || r.User == "root" && r.Action == "PutBucketPolicy" && r.Bucket == "site" && r.Result == "allowed"
	}
	if !bobDenied || !rootPolicy || strings.Contains(log, key.SecretKey) || strings.Contains(log, rootSK) {
		t.Fatalf("audit log (bob's denied put %v, root's policy %v, or a secret in it):\n%s", bobDenied, rootPolicy, log)
	}
}
