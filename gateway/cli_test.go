package gateway_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// These tests drive the real command-line clients users point at S3. The
// test command installs them (scripts/ensure-test-deps.sh); a missing
// client is a failure, not a skip.

const awsCLI = "/usr/bin/aws" // Debian's AWS CLI v2; other installs may differ

func runCLI(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	// Plain HTTP to 127.0.0.1: a CA bundle from the environment is
	// irrelevant, and rclone's AWS SDK refuses one with its own transport.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_CA_BUNDLE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func need(t *testing.T, bin string) string {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("%s is not installed; run scripts/ensure-test-deps.sh (make test does)", bin)
	}
	return path
}

// testTree writes a file larger than the clients' multipart thresholds
// and a small tree, returning their root.
func testTree(t *testing.T) (dir, big string) {
	t.Helper()
	dir = t.TempDir()
	big = filepath.Join(dir, "big.bin")
	data := make([]byte, 11<<20+333)
	for i := range data {
		data[i] = byte(i ^ i>>11)
	}
	os.WriteFile(big, data, 0o600)
	tree := filepath.Join(dir, "tree")
	for i, name := range []string{"a.txt", "sub/b.txt", "sub/deeper/c.bin", "with space.txt"} {
		p := filepath.Join(tree, name)
		os.MkdirAll(filepath.Dir(p), 0o700)
		os.WriteFile(p, bytes.Repeat([]byte(name), 100*(i+1)), 0o600)
	}
	return dir, big
}

func sameFile(t *testing.T, a, b string) {
	t.Helper()
	x, _ := os.ReadFile(a)
	y, err := os.ReadFile(b)
	if err != nil || sha256.Sum256(x) != sha256.Sum256(y) {
		t.Fatalf("%s and %s differ (%v)", a, b, err)
	}
}

// awsEnv is the environment the AWS CLI runs in for the s3api tests: the
// root key, no config files, no pager, one attempt, home in home.
func awsEnv(home string) []string {
	return []string{"AWS_ACCESS_KEY_ID=" + rootAccess, "AWS_SECRET_ACCESS_KEY=" + rootSecret,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_PAGER=", "AWS_MAX_ATTEMPTS=1", "HOME=" + home}
}

// s3apiText returns a runner of `aws s3api ... --output json` against the
// gateway at addr that returns the CLI's output (failing t if it fails).
func s3apiText(t *testing.T, aws, addr string) func(args ...string) string {
	env, ep := awsEnv(t.TempDir()), "--endpoint-url=http://"+addr
	return func(args ...string) string {
		return runCLI(t, env, aws, append([]string{ep, "s3api", "--output", "json"}, args...)...)
	}
}

// s3apiJSON is s3apiText with the output decoded (empty output: an empty
// map).
func s3apiJSON(t *testing.T, aws, addr string) func(args ...string) map[string]any {
	run := s3apiText(t, aws, addr)
	return func(args ...string) map[string]any {
		out := run(args...)
		m := map[string]any{}
		if strings.TrimSpace(out) != "" {
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
		}
		return m
	}
}

// s3apiFails runs an `aws s3api` call against the gateway at addr that
// must fail, and returns its output.
func s3apiFails(t *testing.T, aws, addr string, args ...string) string {
	t.Helper()
	return cliFails(t, awsEnv(t.TempDir()), aws, append([]string{"--endpoint-url=http://" + addr, "s3api"}, args...)...)
}

func TestAWSCLI(t *testing.T) {
	aws := need(t, awsCLI)
	_, _, addr := startS3(t)
	dir, big := testTree(t)
	env := []string{"AWS_ACCESS_KEY_ID=" + rootAccess, "AWS_SECRET_ACCESS_KEY=" + rootSecret,
		"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_PAGER=", "HOME=" + dir}
	ep := "--endpoint-url=http://" + addr
	runCLI(t, env, aws, ep, "s3", "mb", "s3://cli-bucket")
	runCLI(t, env, aws, ep, "s3", "cp", big, "s3://cli-bucket/big.bin") // above the 8 MB multipart threshold
	runCLI(t, env, aws, ep, "s3", "sync", filepath.Join(dir, "tree"), "s3://cli-bucket/tree/")
	ls := runCLI(t, env, aws, ep, "s3", "ls", "--recursive", "s3://cli-bucket")
	for _, want := range []string{"big.bin", "tree/a.txt", "tree/sub/b.txt", "tree/sub/deeper/c.bin", "tree/with space.txt"} {
		if !strings.Contains(ls, want) {
			t.Errorf("aws s3 ls lacks %q:\n%s", want, ls)
		}
	}
	out := filepath.Join(dir, "down.bin")
	runCLI(t, env, aws, ep, "s3", "cp", "s3://cli-bucket/big.bin", out)
	sameFile(t, big, out)
	down := filepath.Join(dir, "down-tree")
	runCLI(t, env, aws, ep, "s3", "sync", "s3://cli-bucket/tree/", down)
	sameFile(t, filepath.Join(dir, "tree", "sub", "deeper", "c.bin"), filepath.Join(down, "sub", "deeper", "c.bin"))
	runCLI(t, env, aws, ep, "s3", "rm", "--recursive", "s3://cli-bucket/")
	runCLI(t, env, aws, ep, "s3", "rb", "s3://cli-bucket")
	if ls := runCLI(t, env, aws, ep, "s3", "ls"); strings.Contains(ls, "cli-bucket") {
		t.Fatalf("bucket still listed after rb:\n%s", ls)
	}
}

func TestRclone(t *testing.T) {
	rclone := need(t, "rclone")
	_, _, addr := startS3(t)
	dir, big := testTree(t)
	env := []string{"RCLONE_CONFIG=/dev/null", "RCLONE_CONFIG_G_TYPE=s3", "RCLONE_CONFIG_G_PROVIDER=Other",
		"RCLONE_CONFIG_G_ACCESS_KEY_ID=" + rootAccess, "RCLONE_CONFIG_G_SECRET_ACCESS_KEY=" + rootSecret,
		"RCLONE_CONFIG_G_ENDPOINT=http://" + addr, "RCLONE_CONFIG_G_REGION=us-east-1", "HOME=" + dir}
	flags := []string{"--s3-upload-cutoff=5M", "--s3-chunk-size=5M", "--retries=1", "--low-level-retries=1"}
	run := func(args ...string) string { return runCLI(t, env, rclone, append(args, flags...)...) }
	run("mkdir", "g:rc-bucket")
	run("copyto", big, "g:rc-bucket/big.bin") // multipart: 5 MiB parts
	run("sync", filepath.Join(dir, "tree"), "g:rc-bucket/tree")
	run("check", filepath.Join(dir, "tree"), "g:rc-bucket/tree") // compares sizes and MD5s
	ls := run("ls", "g:rc-bucket")
	if !strings.Contains(ls, "big.bin") || !strings.Contains(ls, "tree/with space.txt") {
		t.Fatalf("rclone ls:\n%s", ls)
	}
	out := filepath.Join(dir, "down.bin")
	run("copyto", "g:rc-bucket/big.bin", out)
	sameFile(t, big, out)
	run("purge", "g:rc-bucket")
	if ls := run("lsd", "g:"); strings.Contains(ls, "rc-bucket") {
		t.Fatalf("bucket still there after purge:\n%s", ls)
	}
}
