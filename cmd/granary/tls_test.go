package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestAdminCerts runs granary admin certs as an operator would: -h makes
// nothing, init makes a CA once, issue makes node certificates that
// verify against it for their names, keys are 0600, nothing is replaced.
func TestAdminCerts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	for _, args := range [][]string{{"admin", "certs", "-h"}, {"admin", "certs", "init", "--dir", dir, "-h"}, {"admin", "certs", "issue", "-h", "--dir", dir, "--name", "m1"}} {
		if _, _, code := cli(t, nil, args...); code != 0 {
			t.Fatalf("%q: exit %d", args, code)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("-h created %s (%v)", dir, err)
	}
	if _, errs, code := cli(t, nil, "admin", "certs", "issue", "--dir", dir, "--name", "m1"); code != 1 || !strings.Contains(errs, "admin certs init") {
		t.Fatalf("issue without a CA: exit %d, %q", code, errs)
	}
	mustCLI(t, nil, "admin", "certs", "init", "--dir", dir)
	if _, errs, code := cli(t, nil, "admin", "certs", "init", "--dir", dir); code != 1 || !strings.Contains(errs, "never replaced") {
		t.Fatalf("second init: exit %d, %q", code, errs)
	}
	mustCLI(t, nil, "admin", "certs", "init", "--dir", dir, "--if-missing")
	out := mustCLI(t, nil, "admin", "certs", "issue", "--dir", dir, "--name", "m1", "--name", "cs1", "--host", "10.0.0.7", "--host", "node.example")
	if !strings.Contains(out, "--cluster-cert "+filepath.Join(dir, "cs1.pem")) {
		t.Fatalf("issue output does not say how to run the node: %q", out)
	}
	if _, _, code := cli(t, nil, "admin", "certs", "issue", "--dir", dir, "--name", "m1"); code != 1 {
		t.Fatalf("issuing m1 again: exit %d, want 1", code)
	}
	mustCLI(t, nil, "admin", "certs", "issue", "--dir", dir, "--name", "m1", "--if-missing")
	if _, _, code := cli(t, nil, "admin", "certs", "issue", "--dir", dir); code != 2 {
		t.Fatalf("issue without --name: exit %d, want 2", code)
	}

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(mustRead(t, filepath.Join(dir, "ca.pem")))
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "cs1.pem"), filepath.Join(dir, "cs1-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cs1", "node.example", "10.0.0.7"} {
		if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: name, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("cs1's certificate for %s: %v", name, err)
		}
	}
	for _, f := range []string{"ca-key.pem", "m1-key.pem", "cs1-key.pem"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", f, fi.Mode(), err)
		}
	}
}

// TestClusterProcessesTLS runs a master and two chunk servers as separate
// processes with certificates from granary admin certs: the CLI with the
// client certificate (flags or GRANARY_CLUSTER_*) writes and reads; the
// CLI with the secret alone is refused, and so is a chunk server without
// a certificate, which the master never sees.
func TestClusterProcessesTLS(t *testing.T) {
	secret := []string{"GRANARY_CLUSTER_SECRET=e2e-cluster-secret-0123456789"}
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs")
	mustCLI(t, nil, "admin", "certs", "init", "--dir", certs)
	mustCLI(t, nil, "admin", "certs", "issue", "--dir", certs, "--name", "m1", "--name", "cs1", "--name", "cs2", "--name", "client", "--host", "127.0.0.1")
	flags := func(name string) []string {
		return []string{"--cluster-ca", filepath.Join(certs, "ca.pem"), "--cluster-cert", filepath.Join(certs, name+".pem"), "--cluster-key", filepath.Join(certs, name+"-key.pem")}
	}
	env := append(secret, "GRANARY_CLUSTER_CA="+filepath.Join(certs, "ca.pem"),
		"GRANARY_CLUSTER_CERT="+filepath.Join(certs, "client.pem"), "GRANARY_CLUSTER_KEY="+filepath.Join(certs, "client-key.pem"))
	mhttp := freeAddr(t)
	start(t, secret, append([]string{"master", "--id", "m1", "--dir", filepath.Join(dir, "m1"), "--raft-addr", freeAddr(t),
		"--http-addr", mhttp, "--bootstrap", "--replication", "2", "--heartbeat-interval", "200ms", "--dead-after", "3s"}, flags("m1")...)...)
	csAddr := freeAddr(t)
	for i, id := range []string{"cs1", "cs2"} {
		addr := freeAddr(t)
		if i == 0 {
			addr = csAddr
		}
		start(t, secret, append([]string{"chunkserver", "--id", id, "--dir", filepath.Join(dir, id), "--http-addr", addr,
			"--masters", mhttp, "--heartbeat-interval", "200ms"}, flags(id)...)...)
	}
	// Without a certificate, a chunk server cannot register.
	start(t, secret, "chunkserver", "--id", "cs-nocert", "--dir", filepath.Join(dir, "cs-nocert"), "--http-addr", freeAddr(t),
		"--masters", mhttp, "--heartbeat-interval", "200ms")
	waitUntil(t, 30*time.Second, "two live chunk servers", func() bool {
		st, ok := status(t, env, mhttp)
		return ok && st.AliveChunkServers() == 2
	})
	if _, code := granary(t, env, "admin", "--masters", mhttp, "create-bucket", "tls"); code != 0 {
		t.Fatal("create bucket with the client certificate")
	}
	local := filepath.Join(dir, "in")
	os.WriteFile(local, bytes.Repeat([]byte("mtls"), 300_000), 0o600)
	if _, code := granary(t, env, "put", "--masters", mhttp, local, "tls/o"); code != 0 {
		t.Fatal("put with the client certificate")
	}
	down := filepath.Join(dir, "out")
	if _, code := granary(t, secret, append([]string{"get", "--masters", mhttp, "tls/o", down}, flags("client")...)...); code != 0 {
		t.Fatal("get with --cluster-* flags")
	}
	if !bytes.Equal(mustRead(t, local), mustRead(t, down)) {
		t.Fatal("the object read back differs")
	}
	if _, errs, code := cli(t, secret, "ls", "--masters", mhttp, "tls"); code != 1 || !strings.Contains(errs, "--cluster-ca") {
		t.Fatalf("ls with the secret but no certificate: exit %d (%s), want 1 and a hint", code, errs)
	}
	if st, ok := status(t, env, mhttp); !ok || len(st.ChunkServers) != 2 {
		t.Fatalf("the master knows %d chunk servers, want 2 (the one without a certificate must not register)", len(st.ChunkServers))
	}
	if _, code := granary(t, env, "healthcheck", "https://"+csAddr+"/v1/health"); code != 0 {
		t.Fatal("healthcheck of a chunk server with the client certificate")
	}
	if _, _, code := cli(t, secret, "healthcheck", "--cluster-ca", filepath.Join(certs, "ca.pem"), "https://"+csAddr+"/v1/health"); code != 1 {
		t.Fatal("healthcheck of a chunk server without a client certificate succeeded")
	}
}

// TestServerTLS runs granary server --tls: it creates its CA and
// certificates on first start, says how to trust them, serves S3 over
// HTTPS (an S3 client trusting ca.pem round-trips an object), the CLI
// finds the client certificate beside the secret, and a restart keeps the
// same CA.
func TestServerTLS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	web, raftAddr, s3 := freeAddr(t), freeAddr(t), freeAddr(t)
	args := []string{"server", "--tls", "--dir", dir, "--web-addr", web, "--raft-addr", raftAddr, "--s3-addr", s3, "--chunkservers", "1", "--replication", "1"}
	p := start(t, nil, args...)
	waitUntil(t, 30*time.Second, "the server to say it is serving", func() bool {
		return strings.Contains(p.out.String(), "granary server: S3 on https://")
	})
	ca, err := filepath.Abs(filepath.Join(dir, "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"master API on https://", "dashboard on https://", "the CA is " + ca, "--ca-bundle " + ca, "AWS_CA_BUNDLE=" + ca, "curl --cacert " + ca} {
		if !strings.Contains(p.out.String(), want) {
			t.Errorf("the server did not print %q:\n%s", want, p.out.String())
		}
	}
	caPEM := mustRead(t, ca)
	secretFile := filepath.Join(dir, "cluster-secret")
	env := []string{"GRANARY_MASTERS=" + web}
	if _, code := granary(t, env, "admin", "--secret-file", secretFile, "create-bucket", "docs"); code != 0 {
		t.Fatal("create bucket through the CLI (client certificate found beside the secret)")
	}
	secretEnv := append(env, "GRANARY_CLUSTER_SECRET="+strings.TrimSpace(string(mustRead(t, secretFile))))
	if _, _, code := cli(t, secretEnv, "admin", "status"); code != 1 {
		t.Fatalf("admin status with the secret but no certificate: exit %d, want 1", code)
	}

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	tr, err := minio.DefaultTransport(true)
	if err != nil {
		t.Fatal(err)
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	access, secretKey := s3Keys(p.out.String())
	mc, err := minio.New(s3, &minio.Options{Creds: credentials.NewStaticV4(access, secretKey, ""), Secure: true, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body := strings.Repeat("over https ", 1000)
	if _, err := mc.PutObject(ctx, "docs", "tls.txt", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("S3 put over HTTPS: %v", err)
	}
	obj, err := mc.GetObject(ctx, "docs", "tls.txt", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(obj); err != nil || string(got) != body {
		t.Fatalf("S3 get over HTTPS: %v", err)
	}
	awsAndRcloneOverHTTPS(t, s3, ca, access, secretKey)
	if resp, err := http.Get("http://" + s3 + "/-/health"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("the S3 port answered plain http")
		}
	}

	// A renewed certificate is served without a restart: replace the
	// files (certificate first, then key, as a renewal script would) and
	// wait for the S3 port to present it.
	tlsDir := filepath.Join(dir, "tls")
	mustCLI(t, nil, "admin", "certs", "issue", "--dir", tlsDir, "--name", "renewed", "--host", "127.0.0.1")
	for _, f := range [][2]string{{"renewed.pem", "node.pem"}, {"renewed-key.pem", "node-key.pem"}} {
		if err := os.Rename(filepath.Join(tlsDir, f[0]), filepath.Join(tlsDir, f[1])); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 10*time.Second, "the S3 port to present the renewed certificate", func() bool {
		c, err := tls.Dial("tcp", s3, &tls.Config{RootCAs: pool})
		if err != nil {
			return false
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName == "renewed"
	})
	if _, err := mc.StatObject(ctx, "docs", "tls.txt", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("S3 after the renewal: %v", err)
	}

	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("server after SIGTERM: %v", err)
	}
	p2 := start(t, nil, args...)
	waitUntil(t, 30*time.Second, "the restarted server to say it is serving", func() bool {
		return strings.Contains(p2.out.String(), "granary server: S3 on https://")
	})
	if !bytes.Equal(caPEM, mustRead(t, ca)) {
		t.Fatal("a restart replaced the CA")
	}
	if out, code := granary(t, env, "ls", "--secret-file", secretFile, "docs"); code != 0 || !strings.Contains(out, "tls.txt") {
		t.Fatalf("ls after restart: %q", out)
	}
	p2.cmd.Process.Signal(syscall.SIGTERM)
	if err := p2.cmd.Wait(); err != nil {
		t.Fatalf("restarted server after SIGTERM: %v", err)
	}
}

// s3Keys returns the root credentials granary server printed.
func s3Keys(out string) (access, secret string) {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "access key: "); ok {
			access = v
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "secret key: "); ok {
			secret = v
		}
	}
	return access, secret
}

// awsAndRcloneOverHTTPS uses the AWS CLI (trusting the CA with
// --ca-bundle, then with AWS_CA_BUNDLE) and rclone (--ca-cert) against the
// HTTPS S3 port at addr: a multipart upload, a listing, a download.
func awsAndRcloneOverHTTPS(t *testing.T, addr, ca, access, secret string) {
	t.Helper()
	home := t.TempDir()
	big := filepath.Join(home, "big.bin")
	data := bytes.Repeat([]byte("granary over tls "), (9<<20)/17) // above both clients' multipart thresholds
	if err := os.WriteFile(big, data, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"AWS_ACCESS_KEY_ID=" + access, "AWS_SECRET_ACCESS_KEY=" + secret, "AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PAGER=", "HOME=" + home}
	ep := "--endpoint-url=https://" + addr
	tool(t, env, "/usr/bin/aws", ep, "--ca-bundle", ca, "s3", "cp", big, "s3://docs/aws/big.bin")
	out := tool(t, append(env, "AWS_CA_BUNDLE="+ca), "/usr/bin/aws", ep, "s3", "ls", "s3://docs/aws/")
	if !strings.Contains(out, "big.bin") {
		t.Fatalf("aws s3 ls over HTTPS:\n%s", out)
	}
	if _, errs, _ := runTool(t, env, "/usr/bin/aws", ep, "s3", "ls", "s3://docs/"); !strings.Contains(errs, "SSL") && !strings.Contains(errs, "certificate") {
		t.Errorf("aws without the CA did not fail on the certificate: %s", errs)
	}
	rc := []string{"RCLONE_CONFIG=/dev/null", "RCLONE_CONFIG_G_TYPE=s3", "RCLONE_CONFIG_G_PROVIDER=Other",
		"RCLONE_CONFIG_G_ACCESS_KEY_ID=" + access, "RCLONE_CONFIG_G_SECRET_ACCESS_KEY=" + secret,
		"RCLONE_CONFIG_G_ENDPOINT=https://" + addr, "RCLONE_CONFIG_G_REGION=us-east-1", "HOME=" + home}
	flags := []string{"--ca-cert", ca, "--s3-upload-cutoff=5M", "--s3-chunk-size=5M", "--retries=1", "--low-level-retries=1"}
	down := filepath.Join(home, "down.bin")
	tool(t, rc, "rclone", append([]string{"copyto", "g:docs/aws/big.bin", down}, flags...)...)
	tool(t, rc, "rclone", append([]string{"copyto", big, "g:docs/rclone/big.bin"}, flags...)...)
	tool(t, rc, "rclone", append([]string{"check", big, "g:docs/rclone/"}, flags...)...)
	if !bytes.Equal(mustRead(t, down), data) {
		t.Fatal("the object the AWS CLI uploaded reads back differently through rclone")
	}
}

// runTool runs an outside program with env added (and any AWS_CA_BUNDLE
// of the test's own environment removed).
func runTool(t *testing.T, env []string, name string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_CA_BUNDLE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// tool is runTool that fails the test when the program fails.
func tool(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	out, errs, err := runTool(t, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, out, errs)
	}
	return out
}
