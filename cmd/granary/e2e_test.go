package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/syncbuf"
)

// These tests run the real binary as separate processes, as an operator
// would: three `granary master` processes with the CONTRACT.md flags, and
// `granary server`.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "granary-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "granary")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build granary: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// handedOut holds every address freeAddr has returned in this test binary:
// the kernel may give a just-closed ephemeral port out again at once, and a
// master started with the same port for Raft and HTTP fails to bind.
var handedOut = struct {
	sync.Mutex
	m map[string]bool
}{m: map[string]bool{}}

// freeAddr returns a loopback address nothing listens on and that no earlier
// call returned.
func freeAddr(t *testing.T) string {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if !handedOut.m[addr] {
			handedOut.m[addr] = true
			return addr
		}
	}
}

// proc is a running granary process.
type proc struct {
	cmd *exec.Cmd
	out *syncbuf.Buffer
}

func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), out: &syncbuf.Buffer{}}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("output of %v (pid %d, %v):\n%s", args, p.cmd.Process.Pid, p.cmd.ProcessState, p.out.String())
		}
	})
	return p
}

// granary runs one CLI command and returns its stdout and exit code.
func granary(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	stdout, stderr, code := cli(t, env, args...)
	if code != 0 {
		t.Logf("granary %v: exit %d: %s", args, code, stderr)
	}
	return stdout, code
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// serverState is the state status gives a chunk server, or "" if absent.
func serverState(st proto.Status, id proto.NodeID) string {
	for _, cs := range st.ChunkServers {
		if cs.ID == id {
			return cs.State
		}
	}
	return ""
}

func status(t *testing.T, env []string, masters string) (proto.Status, bool) {
	out, code := granary(t, env, "admin", "--masters", masters, "--timeout", "3s", "status", "--json")
	var st proto.Status
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		return st, false
	}
	return st, true
}

func TestThreeMasterProcessesSurviveLeaderKill(t *testing.T) {
	env := []string{"GRANARY_CLUSTER_SECRET=e2e-cluster-secret-0123456789"}
	dir := t.TempDir()
	procs := map[string]*proc{}
	var https []string
	var first string
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("m%d", i)
		raftAddr, httpAddr := freeAddr(t), freeAddr(t)
		args := []string{"master", "--id", id, "--dir", filepath.Join(dir, id), "--raft-addr", raftAddr, "--http-addr", httpAddr}
		if i == 1 {
			args, first = append(args, "--bootstrap"), httpAddr
		} else {
			args = append(args, "--join", first)
		}
		procs[id] = start(t, env, args...)
		https = append(https, httpAddr)
	}
	all := strings.Join(https, ",")
	var st proto.Status
	waitUntil(t, 30*time.Second, "three members with a leader", func() bool {
		var ok bool
		st, ok = status(t, env, all)
		return ok && len(st.Members) == 3 && st.Leader != ""
	})
	if _, code := granary(t, env, "admin", "--masters", all, "create-bucket", "before-kill"); code != 0 {
		t.Fatal("create bucket failed")
	}
	old := st.Leader
	killed := time.Now()
	procs[string(old)].cmd.Process.Signal(syscall.SIGKILL)
	procs[string(old)].cmd.Wait()
	waitUntil(t, 30*time.Second, "a new leader", func() bool {
		var ok bool
		st, ok = status(t, env, all)
		return ok && st.Leader != "" && st.Leader != old
	})
	t.Logf("leader %s killed with SIGKILL; %s named leader by admin status %v later", old, st.Leader, time.Since(killed))
	for _, m := range st.Members {
		want := "follower"
		switch m.ID {
		case old:
			want = "unreachable"
		case st.Leader:
			want = "leader"
		}
		if m.State != want {
			t.Errorf("member %s is %q, want %q", m.ID, m.State, want)
		}
	}
	out, code := granary(t, env, "ls", "--masters", all)
	if code != 0 || !strings.Contains(out, "before-kill") {
		t.Fatalf("bucket written before the kill is gone: %q", out)
	}
	// The survivors stop cleanly on SIGTERM and exit 0.
	for id, p := range procs {
		if id == string(old) {
			continue
		}
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := p.cmd.Wait(); err != nil {
			t.Errorf("%s after SIGTERM: %v", id, err)
		}
	}
}

func TestServerCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	web, raftAddr, s3 := freeAddr(t), freeAddr(t), freeAddr(t)
	p := start(t, nil, "server", "--dir", dir, "--web-addr", web, "--raft-addr", raftAddr, "--s3-addr", s3)
	secretFile := filepath.Join(dir, "cluster-secret")
	env := []string{"GRANARY_MASTERS=" + web}
	waitUntil(t, 30*time.Second, "the server to say it is serving", func() bool {
		return strings.Contains(p.out.String(), "granary server: S3 on")
	})
	if _, code := granary(t, env, "admin", "--secret-file", secretFile, "create-bucket", "docs"); code != 0 {
		t.Fatal("create bucket")
	}
	out, code := granary(t, env, "ls", "--secret-file", secretFile)
	if code != 0 || !strings.Contains(out, "docs") {
		t.Fatalf("ls: %q", out)
	}
	if _, code := granary(t, env, "ls", "--secret-file", secretFile, "nosuchbucket"); code != 1 {
		t.Fatalf("ls of a missing bucket exited %d, want 1", code)
	}
	local := filepath.Join(t.TempDir(), "up.bin")
	os.WriteFile(local, bytes.Repeat([]byte("granary"), 300_000), 0o600)
	if _, code := granary(t, env, "put", "--secret-file", secretFile, local, "docs/up.bin"); code != 0 {
		t.Fatal("put to granary server failed")
	}
	down := filepath.Join(t.TempDir(), "down.bin")
	if _, code := granary(t, env, "get", "--secret-file", secretFile, "docs/up.bin", down); code != 0 {
		t.Fatal("get from granary server failed")
	}
	if a, b := mustRead(t, local), mustRead(t, down); !bytes.Equal(a, b) {
		t.Fatal("round trip through granary server differs")
	}
	s3RoundTrip(t, s3, p.out.String())
	if _, code := granary(t, env, "put", "--secret-file", secretFile, "/nonexistent/x", "docs/x"); code != 1 {
		t.Fatalf("put of a missing local file exited %d, want 1", code)
	}
	if _, code := granary(t, env, "frobnicate"); code != 2 {
		t.Fatalf("unknown command exited %d, want 2", code)
	}
	if _, code := granary(t, env, "admin", "--secret-file", filepath.Join(dir, "nothing"), "status"); code != 1 {
		t.Fatalf("status without a secret exited %d, want 1", code)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("server after SIGTERM: %v", err)
	}
	if !strings.Contains(p.out.String(), "secret key:") {
		t.Errorf("first start did not print the generated root credentials:\n%s", p.out.String())
	}
	// A second start keeps the state and prints no new credentials.
	p2 := start(t, nil, "server", "--dir", dir, "--web-addr", web, "--raft-addr", raftAddr, "--s3-addr", s3)
	waitUntil(t, 30*time.Second, "the restarted server to say it is serving", func() bool {
		return strings.Contains(p2.out.String(), "granary server: S3 on")
	})
	if out, code := granary(t, env, "ls", "--secret-file", secretFile); code != 0 || !strings.Contains(out, "docs") {
		t.Fatalf("ls after restart: %q", out)
	}
	p2.cmd.Process.Signal(syscall.SIGTERM)
	if err := p2.cmd.Wait(); err != nil {
		t.Fatalf("restarted server after SIGTERM: %v", err)
	}
	if strings.Contains(p2.out.String(), "secret key:") {
		t.Error("restart printed new root credentials")
	}
}

// TestChunkServerProcessKilled runs one master and three chunk servers as
// separate processes with replication 3: after `kill -9` of one chunk
// server every object still reads back byte for byte.
func TestChunkServerProcessKilled(t *testing.T) {
	env := []string{"GRANARY_CLUSTER_SECRET=e2e-cluster-secret-0123456789"}
	dir := t.TempDir()
	mhttp := freeAddr(t)
	start(t, env, "master", "--id", "m1", "--dir", filepath.Join(dir, "m1"), "--raft-addr", freeAddr(t),
		"--http-addr", mhttp, "--bootstrap", "--chunk-size", "1MiB", "--heartbeat-interval", "200ms", "--dead-after", "3s")
	var servers []*proc
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("cs%d", i)
		servers = append(servers, start(t, env, "chunkserver", "--id", id, "--dir", filepath.Join(dir, id),
			"--http-addr", freeAddr(t), "--masters", mhttp, "--rack", fmt.Sprintf("r%d", i), "--heartbeat-interval", "200ms"))
	}
	waitUntil(t, 30*time.Second, "three live chunk servers", func() bool {
		st, ok := status(t, env, mhttp)
		return ok && st.AliveChunkServers() == 3
	})
	if _, code := granary(t, env, "admin", "--masters", mhttp, "create-bucket", "files"); code != 0 {
		t.Fatal("create bucket")
	}
	sizes := []int{0, 100, 3<<20 + 17}
	for i, n := range sizes {
		local := filepath.Join(dir, fmt.Sprintf("in%d", i))
		os.WriteFile(local, bytes.Repeat([]byte{byte(i + 1), 7, 42}, n/3+1)[:n], 0o600)
		if _, code := granary(t, env, "put", "--masters", mhttp, local, fmt.Sprintf("files/o%d", i)); code != 0 {
			t.Fatalf("put %d bytes failed", n)
		}
	}
	servers[1].cmd.Process.Signal(syscall.SIGKILL)
	servers[1].cmd.Wait()
	for i := range sizes {
		out := filepath.Join(dir, fmt.Sprintf("out%d", i))
		if _, code := granary(t, env, "get", "--masters", mhttp, fmt.Sprintf("files/o%d", i), out); code != 0 {
			t.Fatalf("get o%d with a chunk server killed", i)
		}
		a, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("in%d", i)))
		b, _ := os.ReadFile(out)
		if !bytes.Equal(a, b) {
			t.Fatalf("o%d differs after the kill", i)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestChunkServerKillIsRepaired is issue 4's acceptance: one master, four
// chunk servers, replication 3; kill -9 one chunk server and
// chunks.underReplicated returns to 0 with every object intact.
func TestChunkServerKillIsRepaired(t *testing.T) {
	env := []string{"GRANARY_CLUSTER_SECRET=e2e-cluster-secret-0123456789"}
	dir := t.TempDir()
	mhttp := freeAddr(t)
	start(t, env, "master", "--id", "m1", "--dir", filepath.Join(dir, "m1"), "--raft-addr", freeAddr(t),
		"--http-addr", mhttp, "--bootstrap", "--chunk-size", "256KiB", "--heartbeat-interval", "200ms", "--dead-after", "2s")
	var servers []*proc
	for i := 1; i <= 4; i++ {
		id := fmt.Sprintf("cs%d", i)
		servers = append(servers, start(t, env, "chunkserver", "--id", id, "--dir", filepath.Join(dir, id),
			"--http-addr", freeAddr(t), "--masters", mhttp, "--rack", fmt.Sprintf("r%d", i%2), "--heartbeat-interval", "200ms"))
	}
	waitUntil(t, 30*time.Second, "four live chunk servers", func() bool {
		st, ok := status(t, env, mhttp)
		return ok && st.AliveChunkServers() == 4
	})
	if _, code := granary(t, env, "admin", "--masters", mhttp, "create-bucket", "files"); code != 0 {
		t.Fatal("create bucket")
	}
	local := filepath.Join(dir, "in")
	os.WriteFile(local, bytes.Repeat([]byte("0123456789abcdef"), 1<<18), 0o600) // 4 MiB: 16 chunks
	for i := range 4 {
		if _, code := granary(t, env, "put", "--masters", mhttp, local, fmt.Sprintf("files/o%d", i)); code != 0 {
			t.Fatal("put failed")
		}
	}
	servers[2].cmd.Process.Signal(syscall.SIGKILL)
	servers[2].cmd.Wait()
	killed := time.Now()
	// The loss is seen as the server dead and copies issued: repair starts
	// as soon as the heartbeats are overdue and may finish between two
	// polls, so the under-replicated count itself can be over before a
	// poll sees it.
	waitUntil(t, 30*time.Second, "the loss noticed", func() bool {
		st, ok := status(t, env, mhttp)
		return ok && serverState(st, "cs3") == "dead" && (st.Chunks.UnderReplicated > 0 || st.Repair.CopiesIssued > 0)
	})
	waitUntil(t, 120*time.Second, "underReplicated back to 0", func() bool {
		st, ok := status(t, env, mhttp)
		return ok && st.Chunks.UnderReplicated == 0 && st.Chunks.Missing == 0 && !st.SafeMode && st.Repair.CopiesDone > 0
	})
	t.Logf("kill -9 of a chunk server: underReplicated back to 0 after %v (dead-after 2s, heartbeats 200ms, repair every 3s)", time.Since(killed))
	want := mustRead(t, local)
	for i := range 4 {
		out := filepath.Join(dir, fmt.Sprintf("out%d", i))
		if _, code := granary(t, env, "get", "--masters", mhttp, fmt.Sprintf("files/o%d", i), out); code != 0 || !bytes.Equal(mustRead(t, out), want) {
			t.Fatalf("o%d not intact after repair", i)
		}
	}
}

// s3Client is an S3 client for the gateway at addr with the root
// credentials granary server printed in out.
func s3Client(t *testing.T, addr, out string) *minio.Client {
	t.Helper()
	var access, secret string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "access key: "); ok {
			access = v
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "secret key: "); ok {
			secret = v
		}
	}
	mc, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(access, secret, "")})
	if err != nil {
		t.Fatal(err)
	}
	return mc
}

// s3RoundTrip uses the root credentials granary server printed with a real
// S3 client: the object put through the CLI is visible, and a new one
// round-trips.
func s3RoundTrip(t *testing.T, addr, out string) {
	t.Helper()
	mc := s3Client(t, addr, out)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := mc.StatObject(ctx, "docs", "up.bin", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("S3 stat of an object put with the CLI: %v", err)
	}
	body := strings.Repeat("s3 through granary server ", 1000)
	if _, err := mc.PutObject(ctx, "docs", "via-s3.txt", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("S3 put: %v", err)
	}
	obj, err := mc.GetObject(ctx, "docs", "via-s3.txt", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || string(got) != body {
		t.Fatalf("S3 get: %v", err)
	}
}

// TestBenchModes runs every granary bench mode for about a second against
// a granary server and checks the reports.
func TestBenchModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	web, s3 := freeAddr(t), freeAddr(t)
	env := []string{"GRANARY_ACCESS_KEY=GRBENCHKEY0001", "GRANARY_SECRET_KEY=bench-secret-key-0123456789"}
	p := start(t, env, "server", "--dir", dir, "--web-addr", web, "--raft-addr", freeAddr(t), "--s3-addr", s3, "--no-sync")
	waitUntil(t, 30*time.Second, "the server", func() bool { return strings.Contains(p.out.String(), "granary server: S3 on") })
	out := t.TempDir()
	for _, op := range []string{"put", "get", "mixed", "list", "delete"} {
		js := filepath.Join(out, op+".json")
		if _, code := granary(t, env, "bench", "s3", "--endpoint", s3, "--op", op, "--size", "4KiB",
			"--concurrency", "4", "--duration", "1s", "--objects", "40", "--json", js); code != 0 {
			t.Fatalf("bench s3 --op %s failed", op)
		}
		var rep struct {
			Target  string
			Config  struct{ Op string }
			Summary struct {
				Ops, Errors int
				OpsPerSec   float64
				P99Ms       float64
			}
			Cleaned      bool
			CleanupError string
		}
		if err := json.Unmarshal(mustRead(t, js), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Config.Op != op || rep.Summary.Ops == 0 || rep.Summary.Errors != 0 || rep.Summary.OpsPerSec <= 0 || !rep.Cleaned || !strings.HasPrefix(rep.Target, "s3 ") {
			t.Fatalf("report for %s: %+v", op, rep)
		}
	}
	nativeEnv := append(env, "GRANARY_MASTERS="+web)
	if stdout, code := granary(t, nativeEnv, "bench", "native", "--secret-file", filepath.Join(dir, "cluster-secret"),
		"--op", "put", "--size", "1MiB", "--concurrency", "2", "--duration", "1s"); code != 0 || !strings.Contains(stdout, "latency") {
		t.Fatalf("bench native: %q", stdout)
	}
	if stdout, code := granary(t, nil, "bench", "baseline", "--dir", out, "--time", "100ms", "--sizes", "4KiB,1MiB"); code != 0 || !strings.Contains(stdout, "sha256") {
		t.Fatalf("bench baseline: %q", stdout)
	}
	for _, bad := range [][]string{
		{"bench", "s3", "--op", "upload", "--endpoint", s3},
		{"bench", "s3", "--op", "put"},
		{"bench", "nosuchmode"},
		{"bench", "s3", "--size", "12parsecs", "--endpoint", s3},
	} {
		if _, code := granary(t, env, bad...); code != 2 {
			t.Errorf("%v exited %d, want 2", bad, code)
		}
	}
}
