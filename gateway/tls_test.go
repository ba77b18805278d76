package gateway_test

import (
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/granary-store/granary/gateway"
	"github.com/granary-store/granary/internal/pki"
)

// TestS3OverTLS: the gateway serves HTTPS with a certificate from a
// local CA; minio-go, the AWS CLI and rclone trust the CA and work; a
// policy that allows only secure transport allows the requests; a new
// certificate written over the files is served without a restart.
func TestS3OverTLS(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	ca, err := pki.InitDir(dir, "granary test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	files, err := ca.IssueFile(dir, "s3", []string{"127.0.0.1", "localhost"}, now)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := pki.NewReloader(files.Cert, files.Key, nil)
	if err != nil {
		t.Fatal(err)
	}
	rel.Interval = 10 * time.Millisecond
	e := startAccessWith(t, func(c *gateway.Config) { c.TLS = rel.ServerConfig() })
	ctx := ctxT(t, 3*time.Minute)

	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}
	secure, err := minio.New(e.addr, &minio.Options{Creds: credentials.NewStaticV4(rootAccess, rootSecret, ""), Secure: true, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	if err := secure.MakeBucket(ctx, "tls", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("CreateBucket over HTTPS: %v", err)
	}
	if err := e.put(secure, "tls", "k", "over TLS", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// A user allowed to read only over TLS reads.
	onlyTLS := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::tls/*",
		"Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`
	_, k := e.user("tlsreader", onlyTLS)
	reader, _ := minio.New(e.addr, &minio.Options{Creds: credentials.NewStaticV4(k.AccessKey, k.SecretKey, ""), Secure: true, Transport: tr})
	if got, err := e.get(reader, "tls", "k"); err != nil || got != "over TLS" {
		t.Fatalf("a read allowed only over TLS: %q %v", got, err)
	}
	// Plain HTTP on the TLS port is refused by the TLS server.
	if resp, err := http.Get("http://" + e.addr + "/tls/k"); err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("plain HTTP on the HTTPS port: %s", resp.Status)
		}
	}

	caFile := filepath.Join(dir, pki.CAFile)
	awsEnvTLS := append(awsEnv(t.TempDir()), "AWS_CA_BUNDLE="+caFile) // runCLI keeps a bundle given in env
	if out := runCLI(t, awsEnvTLS, need(t, awsCLI), "--endpoint-url=https://"+e.addr, "s3", "ls", "s3://tls"); !strings.Contains(out, " k") {
		t.Fatalf("aws s3 ls over HTTPS: %s", out)
	}
	rclone := need(t, "rclone")
	env := []string{"RCLONE_CONFIG=/dev/null", "RCLONE_CONFIG_G_TYPE=s3", "RCLONE_CONFIG_G_PROVIDER=Other",
		"RCLONE_CONFIG_G_ACCESS_KEY_ID=" + rootAccess, "RCLONE_CONFIG_G_SECRET_ACCESS_KEY=" + rootSecret,
		"RCLONE_CONFIG_G_ENDPOINT=https://" + e.addr, "RCLONE_CONFIG_G_REGION=us-east-1", "HOME=" + t.TempDir()}
	if out := runCLI(t, env, rclone, "cat", "g:tls/k", "--ca-cert", caFile, "--retries=1"); out != "over TLS" {
		t.Fatalf("rclone cat over HTTPS: %q", out)
	}

	// Reload: a certificate for another name replaces the files; the next
	// handshakes present it.
	served := func() string {
		c, err := tls.Dial("tcp", e.addr, &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := served(); got != "s3" {
		t.Fatalf("served certificate %q, want s3", got)
	}
	next, err := ca.IssueFile(dir, "s3-renewed", []string{"127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range [][2]string{{next.Key, files.Key}, {next.Cert, files.Cert}} {
		if err := os.Rename(p[0], p[1]); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the renewed certificate", func() bool { return served() == "s3-renewed" })
	if got, err := e.get(secure, "tls", "k"); err != nil || got != "over TLS" {
		t.Fatalf("a read after the certificate reload: %q %v", got, err)
	}
}
