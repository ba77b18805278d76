package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/granary-store/granary/internal/cliflag"
	"github.com/granary-store/granary/internal/proto"
)

// configFlags is a flag set with one flag of each kind the servers use.
type configFlags struct {
	addr    string
	n       int
	every   time.Duration
	on      bool
	size    int64
	classes map[string]string
	masters string
	names   []string
}

func newConfigFlags(e *env) (*flag.FlagSet, *configFlags) {
	c := &configFlags{n: 3, every: time.Second, size: 1 << 20, classes: map[string]string{}}
	fs := newFlagSet(e, "test", "test [flags]")
	fs.StringVar(&c.addr, "http-addr", "", "address")
	fs.IntVar(&c.n, "replication", c.n, "copies")
	fs.DurationVar(&c.every, "heartbeat-interval", c.every, "interval")
	fs.BoolVar(&c.on, "insecure", false, "no secret")
	fs.Var(cliflag.Size{N: &c.size}, "chunk-size", "size")
	fs.Var(storageClassFlag(c.classes), "storage-class", "CLASS=POLICY (repeatable)")
	fs.StringVar(&c.masters, "masters", "", "master addresses, comma-separated")
	fs.Var(cliflag.List{Vals: &c.names}, "name", "a name (repeat)")
	return fs, c
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "granary.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigFileValues: every kind of flag takes its value from the file;
// lists set repeatable flags item by item and join into comma-separated
// ones; flags the file leaves out keep their defaults.
func TestConfigFileValues(t *testing.T) {
	path := writeConfig(t, `# a comment
http-addr: 127.0.0.1:9333
replication: 2
insecure: true
chunk-size: 8MiB
storage-class:
  - STANDARD_IA=rs-4-2
  - GLACIER=rs-6-3
masters: [10.0.0.1:9333, 10.0.0.2:9333]
name: [a, b]
`)
	e, _, _ := testEnv()
	fs, c := newConfigFlags(e)
	if err := parseConfig(e, fs, []string{"--config", path}); err != nil {
		t.Fatal(err)
	}
	want := configFlags{addr: "127.0.0.1:9333", n: 2, every: time.Second, on: true, size: 8 << 20,
		classes: map[string]string{"STANDARD_IA": "rs-4-2", "GLACIER": "rs-6-3"},
		masters: "10.0.0.1:9333,10.0.0.2:9333", names: []string{"a", "b"}}
	if c.addr != want.addr || c.n != want.n || c.every != want.every || c.on != want.on || c.size != want.size ||
		c.masters != want.masters || strings.Join(c.names, " ") != "a b" ||
		len(c.classes) != 2 || c.classes["STANDARD_IA"] != "rs-4-2" || c.classes["GLACIER"] != "rs-6-3" {
		t.Fatalf("flags from the file: %+v, want %+v", *c, want)
	}
}

// TestConfigCommandLineWins: a flag on the command line beats its key in
// the file, wherever --config stands; the file's other keys still apply.
func TestConfigCommandLineWins(t *testing.T) {
	path := writeConfig(t, "http-addr: 127.0.0.1:1\nreplication: 2\nstorage-class: [GLACIER=rs-6-3]\n")
	for _, args := range [][]string{
		{"--http-addr", "127.0.0.1:2", "--config", path, "--storage-class", "STANDARD_IA=rs-4-2"},
		{"--config", path, "--http-addr=127.0.0.1:2", "--storage-class", "STANDARD_IA=rs-4-2"},
	} {
		e, _, _ := testEnv()
		fs, c := newConfigFlags(e)
		if err := parseConfig(e, fs, args); err != nil {
			t.Fatal(err)
		}
		if c.addr != "127.0.0.1:2" || c.n != 2 || len(c.classes) != 1 || c.classes["STANDARD_IA"] != "rs-4-2" {
			t.Fatalf("%q: addr %s replication %d classes %v", args, c.addr, c.n, c.classes)
		}
	}
}

// TestConfigRefused: mistakes in the file are usage errors that name the
// file, the line and the key.
func TestConfigRefused(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"unknown key", "http-addr: x:1\nhttp_adr: y\n", []string{":2:", `unknown key "http_adr"`, "no flag --http_adr"}},
		{"misspelt with underscores", "http_addr: y\n", []string{":1:", `unknown key "http_addr"`, "did you mean http-addr"}},
		{"config in the file", "config: other.yaml\n", []string{":1:", `unknown key "config"`}},
		{"not a number", "replication: three\n", []string{":1:", "replication", `bad value "three"`}},
		{"duration without unit", "\nheartbeat-interval: 5\n", []string{":2:", "heartbeat-interval", `bad value "5"`}},
		{"not a bool", "insecure: maybe\n", []string{":1:", "insecure"}},
		{"bad size", "chunk-size: lots\n", []string{":1:", "chunk-size", "bad size"}},
		{"list for one value", "replication: [1, 2]\n", []string{":1:", "a list, but --replication takes one value"}},
		{"mapping for a value", "http-addr:\n  host: x\n", []string{":2:", "a mapping, but --http-addr takes a value"}},
		{"no value", "http-addr:\n", []string{":1:", "http-addr", "no value"}},
		{"given twice", "replication: 1\nreplication: 2\n", []string{":2:", "replication is given twice (first on line 1)"}},
		{"not a mapping", "- http-addr\n", []string{":1:", "want flag names with their values"}},
		{"not YAML", "http-addr: [x\n", []string{"granary.yaml", "yaml:"}},
		{"bad list item", "storage-class: [[A=rep-1]]\n", []string{":1:", "list item on line 1 is a list"}},
		{"bad repeated value", "storage-class: [STANDARD_IA=rs-4-2, lower=rep-1]\n", []string{":1:", "storage-class", "capitals"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.text)
			e, _, _ := testEnv()
			fs, _ := newConfigFlags(e)
			err := parseConfig(e, fs, []string{"--config", path})
			if !errors.Is(err, errUsage) {
				t.Fatalf("error %v, want a usage error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// TestConfigEmptyAndMissing: an empty file sets nothing; a missing file is
// a usage error naming it; -h prints help without reading the file.
func TestConfigEmptyAndMissing(t *testing.T) {
	e, _, _ := testEnv()
	fs, c := newConfigFlags(e)
	if err := parseConfig(e, fs, []string{"--config", writeConfig(t, "# nothing yet\n")}); err != nil || c.n != 3 {
		t.Fatalf("empty file: %v, replication %d", err, c.n)
	}
	missing := filepath.Join(t.TempDir(), "nosuch.yaml")
	e, _, _ = testEnv()
	fs, _ = newConfigFlags(e)
	if err := parseConfig(e, fs, []string{"--config", missing}); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("missing file: %v", err)
	}
	e, out, _ := testEnv()
	fs, _ = newConfigFlags(e)
	if err := parseConfig(e, fs, []string{"--config", missing, "-h"}); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "-config") {
		t.Fatalf("-h with a missing file: %v, help %q", err, out)
	}
}

// TestServerCommandsRefuseBadConfig: every server command takes --config
// and refuses a file with an unknown key (exit 2, the key and line named)
// before it starts anything.
func TestServerCommandsRefuseBadConfig(t *testing.T) {
	dir := t.TempDir()
	path := writeConfig(t, "# every server refuses this\nnosuch-flag: 1\n")
	for _, args := range [][]string{
		{"server", "--dir", dir},
		{"master", "--id", "m1", "--dir", dir, "--raft-addr", "127.0.0.1:1", "--http-addr", "127.0.0.1:2", "--bootstrap", "--insecure"},
		{"chunkserver", "--dir", dir, "--http-addr", "127.0.0.1:3", "--masters", "127.0.0.1:2", "--insecure"},
		{"gateway", "--masters", "127.0.0.1:2", "--s3-addr", "127.0.0.1:4", "--insecure"},
		{"mount", "bucket", filepath.Join(dir, "mnt")},
	} {
		_, stderr, code := cli(t, nil, append(args, "--config", path)...)
		if code != 2 || !strings.Contains(stderr, path+":2:") || !strings.Contains(stderr, `unknown key "nosuch-flag"`) {
			t.Errorf("granary %s with an unknown key: exit %d: %s", args[0], code, stderr)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("granary %s with a bad config file wrote %v", args[0], entries)
		}
	}
}

// TestServerConfigFile starts `granary server --config` as an operator
// would: addresses, folder and sizes from the file, one flag overridden on
// the command line.
func TestServerConfigFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	web, raftAddr, s3 := freeAddr(t), freeAddr(t), freeAddr(t)
	path := writeConfig(t, "dir: "+dir+"\nweb-addr: "+web+"\nraft-addr: "+raftAddr+"\ns3-addr: "+s3+
		"\nchunkservers: 1\nreplication: 1\nno-sync: true\nlog-format: json\nstorage-class: [REDUCED_REDUNDANCY=rep-1]\n")
	p := start(t, nil, "server", "--config", path, "--chunkservers", "2")
	waitUntil(t, 30*time.Second, "the server to say it is serving", func() bool {
		return strings.Contains(p.out.String(), "granary server: S3 on")
	})
	if !strings.Contains(p.out.String(), `{"time":`) {
		t.Errorf("log-format json from the file not used:\n%s", p.out.String())
	}
	out, code := granary(t, nil, "admin", "--masters", web, "--secret-file", filepath.Join(dir, "cluster-secret"), "status", "--json")
	var st proto.Status
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("status: exit %d: %s", code, out)
	}
	if len(st.ChunkServers) != 2 {
		t.Errorf("%d chunk servers, want the command line's 2 over the file's 1", len(st.ChunkServers))
	}
	mc := s3Client(t, s3, p.out.String())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := mc.MakeBucket(ctx, "conf", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("S3 create bucket: %v", err)
	}
	body := strings.Repeat("configured ", 1000)
	if _, err := mc.PutObject(ctx, "conf", "a.txt", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{StorageClass: "REDUCED_REDUNDANCY"}); err != nil {
		t.Fatalf("S3 put with the storage class from the file: %v", err)
	}
	obj, err := mc.GetObject(ctx, "conf", "a.txt", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	if err != nil || string(got) != body {
		t.Fatalf("S3 get: %v (%d bytes)", err, len(got))
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("server after SIGTERM: %v", err)
	}
}
