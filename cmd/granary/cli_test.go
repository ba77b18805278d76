package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/granary-store/granary/internal/proto"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/help")

// helpTargets are every command and subcommand, as argument lists.
func helpTargets() [][]string {
	out := [][]string{{}}
	for _, n := range commandNames() {
		out = append(out, []string{n})
		for _, s := range commands()[n].subs {
			out = append(out, []string{n, s})
		}
	}
	// The one third level: granary admin certs init|issue.
	return append(out, []string{"admin", "certs", "init"}, []string{"admin", "certs", "issue"})
}

func goldenName(target []string) string {
	if len(target) == 0 {
		return "granary.txt"
	}
	return strings.Join(target, "_") + ".txt"
}

// TestHelpGolden compares the -h output of every command and subcommand
// with testdata/help (go test -run TestHelpGolden -update rewrites them).
func TestHelpGolden(t *testing.T) {
	names := map[string]bool{}
	for _, target := range helpTargets() {
		e, out, errb := testEnv()
		code := run(context.Background(), append(slices.Clone(target), "-h"), e)
		if code != 0 || errb.Len() != 0 {
			t.Errorf("granary %q -h: exit %d, stderr %q", target, code, errb)
			continue
		}
		got := strings.ReplaceAll(out.String(), os.TempDir(), "$TMPDIR")
		path := filepath.Join("testdata", "help", goldenName(target))
		names[filepath.Base(path)] = true
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (run go test -run TestHelpGolden -update)", err)
			continue
		}
		if got != string(want) {
			t.Errorf("granary %q -h differs from %s (go test -run TestHelpGolden -update rewrites it):\n%s", target, path, got)
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "help", "*.txt"))
	for _, f := range files {
		if !names[filepath.Base(f)] {
			t.Errorf("%s belongs to no command", f)
		}
	}
}

// cli runs the binary and returns its stdout, stderr and exit code.
func cli(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// mustCLI runs the binary and fails the test unless it exits 0.
func mustCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, errs, code := cli(t, env, args...)
	if code != 0 {
		t.Fatalf("granary %q: exit %d: %s", args, code, errs)
	}
	return out
}

// clusterState is what the -h test checks is unchanged.
func clusterState(t *testing.T, env []string) string {
	t.Helper()
	var st proto.Status
	if err := json.Unmarshal([]byte(mustCLI(t, env, "admin", "status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, m := range st.Members {
		lines = append(lines, "master "+string(m.ID)+" "+m.Address)
	}
	for _, c := range st.ChunkServers {
		lines = append(lines, "chunkserver "+string(c.ID)+" "+c.Address+" "+c.State)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\nbuckets:\n" + mustCLI(t, env, "admin", "buckets") +
		"users:\n" + mustCLI(t, env, "admin", "users") + "keys:\n" + mustCLI(t, env, "admin", "keys") +
		"alice:\n" + mustCLI(t, env, "admin", "user", "alice", "--json") +
		"access policies:\n" + mustCLI(t, env, "admin", "access-policies", "--json") +
		"objects:\n" + mustCLI(t, env, "ls", "-r", "docs")
}

// TestHelpChangesNothing runs every command and subcommand with -h and
// --help, with and without arguments that would otherwise act, against a
// live granary server, and checks that each printed help, exited 0 and
// changed nothing.
func TestHelpChangesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	web, raftAddr, s3 := freeAddr(t), freeAddr(t), freeAddr(t)
	p := start(t, nil, "server", "--dir", dir, "--web-addr", web, "--raft-addr", raftAddr, "--s3-addr", s3)
	waitUntil(t, 30*time.Second, "the server to say it is serving", func() bool {
		return strings.Contains(p.out.String(), "granary server: S3 on")
	})
	secret, err := os.ReadFile(filepath.Join(dir, "cluster-secret"))
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"GRANARY_MASTERS=" + web, "GRANARY_CLUSTER_SECRET=" + strings.TrimSpace(string(secret))}
	work := t.TempDir()
	local := filepath.Join(work, "keep.txt")
	if err := os.WriteFile(local, []byte("kept"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, env, "admin", "create-bucket", "docs")
	mustCLI(t, env, "put", local, "docs/")
	mustCLI(t, env, "admin", "create-user", "alice")
	var key struct{ AccessKey, SecretKey string }
	if err := json.Unmarshal([]byte(mustCLI(t, env, "admin", "create-key", "alice", "--json")), &key); err != nil || key.AccessKey == "" || key.SecretKey == "" {
		t.Fatalf("create-key --json: %+v, %v", key, err)
	}
	readOnly := filepath.Join(work, "ro.json")
	if err := os.WriteFile(readOnly, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, env, "admin", "put-access-policy", "ro", readOnly)
	mustCLI(t, env, "admin", "put-access-policy", "spare", readOnly)
	mustCLI(t, env, "admin", "attach-access-policy", "alice", "ro")
	var st proto.Status
	if err := json.Unmarshal([]byte(mustCLI(t, env, "admin", "status", "--json")), &st); err != nil || len(st.ChunkServers) == 0 {
		t.Fatalf("status: %+v, %v", st, err)
	}
	before := clusterState(t, env)
	if !strings.Contains(before, "keep.txt") || !strings.Contains(before, "alice") || !strings.Contains(before, key.AccessKey+"  alice") {
		t.Fatalf("setup missing from the state:\n%s", before)
	}

	// Arguments that would act if the command ran.
	acting := map[string][]string{
		"put":                        {local, "docs/victim"},
		"get":                        {"docs/keep.txt", filepath.Join(work, "got.txt")},
		"rm":                         {"docs/keep.txt"},
		"ls":                         {"docs"},
		"mount":                      {"docs", filepath.Join(work, "mnt")},
		"healthcheck":                {"http://" + web + "/v1/health"},
		"admin delete-bucket":        {"docs"},
		"admin delete-key":           {key.AccessKey},
		"admin remove-member":        {string(st.Leader)},
		"admin decommission":         {string(st.ChunkServers[0].ID)},
		"admin create-bucket":        {"victim"},
		"admin create-user":          {"victim"},
		"admin create-key":           {"alice"},
		"admin delete-user":          {"alice"},
		"admin deactivate-key":       {key.AccessKey},
		"admin activate-key":         {key.AccessKey},
		"admin put-access-policy":    {"spare", local},
		"admin delete-access-policy": {"spare"},
		"admin attach-access-policy": {"alice", "spare"},
		"admin detach-access-policy": {"alice", "ro"},
		"admin user":                 {"alice"},
		"bench report":               {work},
		"bench baseline":             {"--dir", work},
		"server":                     {"--dir", filepath.Join(work, "server"), "--web-addr", web},
		"admin certs init":           {"--dir", filepath.Join(work, "certs")},
		"admin certs issue":          {"--dir", filepath.Join(work, "certs"), "--name", "victim"},
	}
	for _, target := range helpTargets() {
		args := acting[strings.Join(target, " ")]
		if args == nil {
			args = []string{"victim"}
		}
		invs := [][]string{
			append(slices.Clone(target), "-h"),
			append(slices.Clone(target), "--help"),
		}
		if len(target) > 0 { // granary NAME -h is an unknown command NAME
			invs = append(invs,
				append(append(slices.Clone(target), args...), "-h"),
				append(append(slices.Clone(target), "--help"), args...),
				append(append(slices.Clone(target), args...), "-help", "--nosuch"))
		}
		for _, inv := range invs {
			out, errs, code := cli(t, env, inv...)
			if code != 0 || !strings.HasPrefix(out, "usage: granary") || errs != "" {
				t.Errorf("granary %q: exit %d, stdout %q, stderr %q; want help on stdout and exit 0", inv, code, out, errs)
			}
		}
	}
	// Names that look like flags are refused, not created.
	for _, inv := range [][]string{
		{"admin", "create-user", "--", "-h"},
		{"admin", "create-bucket", "--", "--help"},
		{"admin", "create-user", "-x"},
		{"admin", "delete-user", "--", "-h"},
		{"admin", "attach-access-policy", "alice", "--", "-h"},
		{"admin", "put-access-policy", "--", "-h", readOnly},
		{"put", local, "docs/x", "--nosuch"},
	} {
		if _, errs, code := cli(t, env, inv...); code != 2 || errs == "" {
			t.Errorf("granary %q: exit %d, stderr %q; want a usage error (exit 2)", inv, code, errs)
		}
	}
	if after := clusterState(t, env); after != before {
		t.Errorf("cluster state changed by help:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if _, err := os.Stat(filepath.Join(work, "got.txt")); !os.IsNotExist(err) {
		t.Errorf("get -h wrote its file: %v", err)
	}
	mc, err := minio.New(s3, &minio.Options{Creds: credentials.NewStaticV4(key.AccessKey, key.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := mc.ListBuckets(ctx); err != nil {
		t.Errorf("alice's key after delete-key -h: %v", err)
	}

	t.Run("flags after arguments", func(t *testing.T) {
		if out := mustCLI(t, env, "ls", "docs", "-r"); !strings.Contains(out, "keep.txt") {
			t.Errorf("ls docs -r: %q", out)
		}
		mustCLI(t, env, "put", local, "docs/sub/", "--content-type", "text/plain")
		if out := mustCLI(t, env, "ls", "docs/sub/", "--timeout", "10s"); !strings.Contains(out, "sub/keep.txt") {
			t.Errorf("put FILE docs/sub/ did not keep the file name: %q", out)
		}
		if out := mustCLI(t, env, "admin", "users", "--timeout", "10s"); !strings.Contains(out, "alice") {
			t.Errorf("admin users: %q", out)
		}
	})
	t.Run("rm -r", func(t *testing.T) {
		for _, k := range []string{"tree/a", "tree/b/c", "treehouse"} {
			mustCLI(t, env, "put", local, "docs/"+k)
		}
		if _, errs, code := cli(t, env, "rm", "docs/tree/"); code != 1 || !strings.Contains(errs, "tree/") {
			t.Errorf("rm of a missing key without -r: exit %d, %q", code, errs)
		}
		if _, _, code := cli(t, env, "rm", "-r", "docs"); code != 2 {
			t.Errorf("rm -r BUCKET without a slash: exit %d, want 2", code)
		}
		out := mustCLI(t, env, "rm", "docs/tree/", "-r")
		if strings.Count(out, "deleted ") != 2 || !strings.Contains(out, "deleted docs/tree/b/c") {
			t.Errorf("rm docs/tree/ -r: %q", out)
		}
		left := mustCLI(t, env, "ls", "-r", "docs")
		if strings.Contains(left, "tree/") || !strings.Contains(left, "treehouse") || !strings.Contains(left, "keep.txt") {
			t.Errorf("after rm -r docs/tree/: %q", left)
		}
	})
	t.Run("access", func(t *testing.T) { testAdminAccess(t, env, key.AccessKey, readOnly) })
	t.Run("unknown ids", func(t *testing.T) {
		for _, inv := range [][]string{{"admin", "remove-member", "nosuch"}, {"admin", "decommission", "nosuch"}} {
			_, errs, code := cli(t, env, inv...)
			if code != 1 || !strings.Contains(errs, `"nosuch"`) || !strings.Contains(errs, string(st.Leader)) && inv[1] == "remove-member" {
				t.Errorf("granary %q: exit %d, stderr %q; want exit 1 naming the id and the members", inv, code, errs)
			}
		}
		if after := clusterState(t, env); !strings.Contains(after, "master "+string(st.Leader)) {
			t.Errorf("the leader is gone after remove-member nosuch:\n%s", after)
		}
	})
	t.Run("errors", func(t *testing.T) {
		for _, inv := range [][]string{{"ls", "nosuchbucket"}, {"get", "docs/nosuch", "-"}, {"rm", "nosuchbucket/x"}, {"put", "/nonexistent", "docs/"}} {
			_, errs, code := cli(t, env, inv...)
			line := strings.TrimSpace(errs)
			if code != 1 || strings.Count(line, "\n") > 0 || !strings.HasPrefix(line, "granary: ") {
				t.Errorf("granary %q: exit %d, stderr %q; want one line and exit 1", inv, code, errs)
			}
			parts := strings.Split(strings.TrimPrefix(line, "granary: "), ": ")
			for i := 1; i < len(parts); i++ {
				if parts[i] == parts[i-1] || parts[i] == "granary" {
					t.Errorf("granary %q: repeated prefix in %q", inv, line)
				}
			}
		}
	})
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("server after SIGTERM: %v", err)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, errs, code := cli(t, nil, args...)
		if code != 0 || !strings.HasPrefix(out, "granary ") || !strings.Contains(out, "go: go1.") || errs != "" {
			t.Errorf("granary %q: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	bin := filepath.Join(t.TempDir(), "granary")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.8.7-test -X main.commit=0123abc", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build with -ldflags: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "granary v9.8.7-test\ncommit: 0123abc") {
		t.Errorf("version of a build with -ldflags: %q, %v", out, err)
	}
	if _, _, code := cli(t, nil, "version", "extra"); code != 2 {
		t.Errorf("version extra: exit %d, want 2", code)
	}
}

func TestCompletion(t *testing.T) {
	scripts := map[string]string{}
	for _, sh := range shells {
		e, out, errb := testEnv()
		if code := run(context.Background(), []string{"completion", sh}, e); code != 0 || errb.Len() != 0 {
			t.Fatalf("completion %s: exit %d: %s", sh, code, errb)
		}
		scripts[sh] = out.String()
		for _, target := range helpTargets()[1:] {
			if !strings.Contains(out.String(), target[len(target)-1]) {
				t.Errorf("completion %s does not name %q", sh, target)
			}
		}
		for _, f := range []string{"masters", "json", "content-type", "cache-size", "replication"} {
			if !strings.Contains(out.String(), f) {
				t.Errorf("completion %s does not name the flag %s", sh, f)
			}
		}
	}
	if e, _, _ := testEnv(); run(context.Background(), []string{"completion", "tcsh"}, e) != 2 {
		t.Error("completion tcsh did not exit 2")
	}
	path := filepath.Join(t.TempDir(), "granary.bash")
	if err := os.WriteFile(path, []byte(scripts["bash"]), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bash", "-n", path).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	// Complete a few command lines with the script, as bash would.
	for _, c := range []struct {
		line string
		want []string
	}{
		{"granary ad", []string{"admin"}},
		{"granary admin cr", []string{"create-bucket", "create-key", "create-user"}},
		{"granary admin --masters h:1 --timeout 3s st", []string{"status"}},
		{"granary admin status --j", []string{"--json"}},
		{"granary ls photos --ma", []string{"--masters"}},
		{"granary bench s3 --end", []string{"--endpoint"}},
		{"granary completion ", []string{"--help", "bash", "fish", "zsh"}},
		{"granary completion b", []string{"bash"}},
	} {
		words := strings.Split(c.line, " ")
		script := fmt.Sprintf("source %q\nCOMP_WORDS=(%s)\nCOMP_CWORD=%d\n_granary\nprintf '%%s\\n' \"${COMPREPLY[@]}\"",
			path, quoteWords(words), len(words)-1)
		out, err := exec.Command("bash", "-c", script).Output()
		got := strings.Fields(string(out))
		sort.Strings(got)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("completing %q: %q, %v; want %q", c.line, got, err, c.want)
		}
	}
}

func quoteWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + w + "'"
	}
	return strings.Join(q, " ")
}

// TestUnreachableChunkServerNamed runs a chunk server that advertises a
// name this machine cannot resolve (as a compose cluster's servers do for
// the host): put fails naming that server and address, not only placement.
func TestUnreachableChunkServerNamed(t *testing.T) {
	env := []string{"GRANARY_CLUSTER_SECRET=e2e-cluster-secret-0123456789"}
	dir := t.TempDir()
	mhttp, cshttp := freeAddr(t), freeAddr(t)
	_, port, _ := strings.Cut(cshttp, ":")
	start(t, env, "master", "--id", "m1", "--dir", filepath.Join(dir, "m1"), "--raft-addr", freeAddr(t),
		"--http-addr", mhttp, "--bootstrap", "--replication", "1", "--heartbeat-interval", "200ms")
	start(t, env, "chunkserver", "--id", "cs1", "--dir", filepath.Join(dir, "cs1"), "--http-addr", cshttp,
		"--advertise", "cs1.invalid:"+port, "--masters", mhttp, "--heartbeat-interval", "200ms")
	waitUntil(t, 30*time.Second, "a live chunk server", func() bool {
		st, ok := status(t, env, mhttp)
		return ok && st.AliveChunkServers() == 1
	})
	env = append(env, "GRANARY_MASTERS="+mhttp)
	mustCLI(t, env, "admin", "create-bucket", "files")
	local := filepath.Join(dir, "in")
	if err := os.WriteFile(local, bytes.Repeat([]byte("x"), 100_000), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errs, code := cli(t, env, "put", "--timeout", "5s", local, "files/")
	if code != 1 || !strings.Contains(errs, "cs1.invalid:"+port) || !strings.Contains(errs, "cannot reach") {
		t.Fatalf("put with an unreachable chunk server: exit %d, stderr %q; want exit 1 naming cs1.invalid:%s", code, errs, port)
	}
	t.Logf("put with an unreachable chunk server:\n%s", errs)
}

// testAdminAccess drives the identity and access admin commands against
// the server of TestHelpChangesNothing, where alice has the key access and
// the policy ro (from the file doc) attached, and spare exists.
func testAdminAccess(t *testing.T, env []string, access, doc string) {
	var u struct {
		Name     string   `json:"name"`
		ID       string   `json:"id"`
		Policies []string `json:"policies"`
		Keys     []struct {
			AccessKey string `json:"accessKey"`
			Status    string `json:"status"`
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, env, "admin", "user", "alice", "--json")), &u); err != nil ||
		u.Name != "alice" || u.ID != proto.CanonicalID("alice") || !slices.Equal(u.Policies, []string{"ro"}) ||
		len(u.Keys) != 1 || u.Keys[0].AccessKey != access {
		t.Fatalf("admin user alice --json: %+v, %v", u, err)
	}
	if out := mustCLI(t, env, "admin", "user", "alice"); !strings.Contains(out, proto.CanonicalID("alice")) ||
		!strings.Contains(out, access+"  Active") || !strings.Contains(out, "policies: ro") {
		t.Errorf("admin user alice: %q", out)
	}
	mustCLI(t, env, "admin", "deactivate-key", access)
	if out := mustCLI(t, env, "admin", "keys"); !strings.Contains(out, access+"  alice  (inactive)") {
		t.Errorf("keys after deactivate-key: %q", out)
	}
	mustCLI(t, env, "admin", "activate-key", access)
	if out := mustCLI(t, env, "admin", "user", "alice"); !strings.Contains(out, access+"  Active") {
		t.Errorf("user after activate-key: %q", out)
	}
	if _, errs, code := cli(t, env, "admin", "deactivate-key", "NOSUCHKEY"); code != 1 || !strings.Contains(errs, "NOSUCHKEY") {
		t.Errorf("deactivate-key of a missing key: exit %d, %q", code, errs)
	}
	if out := mustCLI(t, env, "admin", "access-policies"); !strings.Contains(out, "  ro  ") || !strings.Contains(out, "  spare  ") {
		t.Errorf("access-policies: %q", out)
	}
	bad := filepath.Join(filepath.Dir(doc), "bad.json")
	if err := os.WriteFile(bad, []byte(`["not", "an", "object"]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := cli(t, env, "admin", "put-access-policy", "broken", bad); code != 1 || !strings.Contains(errs, "JSON object") {
		t.Errorf("put-access-policy of an array: exit %d, %q", code, errs)
	}
	if _, errs, code := cli(t, env, "admin", "delete-access-policy", "ro"); code != 1 || !strings.Contains(errs, "alice") {
		t.Errorf("delete-access-policy of an attached one: exit %d, %q", code, errs)
	}
	mustCLI(t, env, "admin", "attach-access-policy", "alice", "spare")
	mustCLI(t, env, "admin", "detach-access-policy", "alice", "ro")
	mustCLI(t, env, "admin", "delete-access-policy", "ro")
	if out := mustCLI(t, env, "admin", "user", "alice"); !strings.Contains(out, "policies: spare") {
		t.Errorf("user after attach and detach: %q", out)
	}
	if _, errs, code := cli(t, env, "admin", "delete-user", "root"); code != 1 || !strings.Contains(errs, "root") {
		t.Errorf("delete-user root: exit %d, %q", code, errs)
	}
	mustCLI(t, env, "admin", "create-user", "temp")
	mustCLI(t, env, "admin", "create-key", "temp")
	mustCLI(t, env, "admin", "delete-user", "temp")
	if out := mustCLI(t, env, "admin", "keys"); strings.Contains(out, "temp") {
		t.Errorf("keys after delete-user temp: %q", out)
	}
	if _, errs, code := cli(t, env, "admin", "user", "temp"); code != 1 || !strings.Contains(errs, "temp") {
		t.Errorf("user of a deleted user: exit %d, %q", code, errs)
	}
}

// TestServerRefusalsWriteNothing: a granary server start refused for its
// flags exits 2 before it creates its data folder or cluster secret.
func TestServerRefusalsWriteNothing(t *testing.T) {
	for _, bad := range [][]string{
		{"--orphan-grace", "0"},
		{"--gc-delay", "-1s"},
		{"--scrub-interval", "0"},
		{"--capacity", "-1"},
		{"--replication", "4"},
		{"--policy", "rs-9-9"},
	} {
		dir := filepath.Join(t.TempDir(), "data")
		_, stderr, code := cli(t, nil, append([]string{"server", "--dir", dir}, bad...)...)
		if code != 2 {
			t.Errorf("granary server %v: exit %d, want 2: %s", bad, code, stderr)
		}
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("granary server %v wrote %s (stat: %v)", bad, dir, err)
		}
	}
}
