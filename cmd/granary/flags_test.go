package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/cliflag"
)

func TestReadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node-id")
	calls := 0
	gen := func() string { calls++; return "cs-1234" }
	first, err := readOrCreate(path, "node id", gen)
	if err != nil || first != "cs-1234" {
		t.Fatalf("first readOrCreate = %q, %v", first, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode: %v, %v", st, err)
	}
	again, err := readOrCreate(path, "node id", gen)
	if err != nil || again != first || calls != 1 {
		t.Fatalf("second readOrCreate = %q, %v after %d generations; want %q from the file", again, err, calls, first)
	}
}

// testEnv is an env writing into buffers, with no environment variables.
func testEnv() (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}, &out, &errb
}

func TestParseFlagsAnywhere(t *testing.T) {
	for _, c := range []struct {
		args    []string
		pos     []string
		r       bool
		masters string
		size    int64
		err     error
	}{
		{args: []string{"photos", "-r"}, pos: []string{"photos"}, r: true},
		{args: []string{"-r", "photos"}, pos: []string{"photos"}, r: true},
		{args: []string{"a", "--masters", "h:1", "b", "-size=2KB"}, pos: []string{"a", "b"}, masters: "h:1", size: 2000},
		{args: []string{"a", "--masters=h:1", "--size", "1KiB", "b"}, pos: []string{"a", "b"}, masters: "h:1", size: 1024},
		{args: []string{"--", "-r"}, err: errUsage}, // positional, and looks like a flag
		{args: []string{"a", "--", "b", "c"}, pos: []string{"a", "b", "c"}},
		{args: []string{"-", "b"}, pos: []string{"-", "b"}},            // "-" is standard input or output
		{args: []string{"a", "--masters"}, err: errUsage},              // value missing
		{args: []string{"a", "--nosuch"}, err: errUsage},               // unknown flag
		{args: []string{"a", "--size", "12parsecs"}, err: errUsage},    // bad value
		{args: []string{"a", "-h"}, err: flag.ErrHelp},                 // help wins
		{args: []string{"--nosuch", "--help", "x"}, err: flag.ErrHelp}, // help wins over mistakes
		{args: []string{"--masters", "-h", "a"}, pos: []string{"a"}, masters: "-h"},
	} {
		e, _, _ := testEnv()
		fs := newFlagSet(e, "t", "t")
		r := fs.Bool("r", false, "")
		masters := fs.String("masters", "", "")
		var size int64
		fs.Var(cliflag.Size{N: &size}, "size", "")
		err := parse(e, fs, c.args)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("parse(%q) = %v, want %v", c.args, err, c.err)
			}
			continue
		}
		if err != nil || *r != c.r || *masters != c.masters || size != c.size || !slices.Equal(fs.Args(), c.pos) {
			t.Errorf("parse(%q) = %v: -r %v, --masters %q, --size %d, args %q; want -r %v, %q, %d, %q",
				c.args, err, *r, *masters, size, fs.Args(), c.r, c.masters, c.size, c.pos)
		}
	}
}

func TestHelpGoesToStdoutMistakesToStderr(t *testing.T) {
	e, out, errb := testEnv()
	if code := run(context.Background(), []string{"ls", "x", "--help"}, e); code != 0 || !strings.HasPrefix(out.String(), "usage: granary ls") || errb.Len() != 0 {
		t.Fatalf("ls --help: exit %d, stdout %q, stderr %q", code, out, errb)
	}
	e, out, errb = testEnv()
	if code := run(context.Background(), []string{"help", "admin", "create-user"}, e); code != 0 || !strings.HasPrefix(out.String(), "usage: granary admin create-user") {
		t.Fatalf("help admin create-user: exit %d, stdout %q, stderr %q", code, out, errb)
	}
	e, out, errb = testEnv()
	if code := run(context.Background(), []string{"ls", "--nosuch"}, e); code != 2 || out.Len() != 0 || !strings.Contains(errb.String(), "usage: granary ls") {
		t.Fatalf("ls --nosuch: exit %d, stdout %q, stderr %q", code, out, errb)
	}
}

func TestErrorMessage(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: bad", errUsage), "bad"},
		{fmt.Errorf("put: %w", fmt.Errorf("put: %w", errors.New("no such bucket"))), "put: no such bucket"},
		{errors.New("granary: open x: open x: gone"), "open x: gone"},
		{errors.New("a: b: a: b"), "a: b: a: b"},
		{errors.New("client: allocate chunk: NotEnoughServers: master: placement: choose chunk 1: need 1 servers, 0 eligible: not enough chunk servers"),
			"allocate chunk: choose chunk 1: need 1 servers, 0 eligible: not enough chunk servers"},
		{errors.New("client: open docs/x: NoSuchKey: object docs/x: no such key"), "open docs/x: object docs/x: no such key"},
		{errors.New("open photo: NoSuchKey"), "open photo: NoSuchKey"}, // the last segment stays
		{errors.New("rename x: client"), "rename x: client"},
	} {
		if got := errorMessage(c.err); got != c.want {
			t.Errorf("errorMessage(%q) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestPutTarget(t *testing.T) {
	for _, c := range []struct{ src, dest, bucket, key string }{
		{"/tmp/photo.jpg", "docs/", "docs", "photo.jpg"},
		{"photo.jpg", "docs/2024/", "docs", "2024/photo.jpg"},
		{"/tmp/photo.jpg", "docs/renamed.jpg", "docs", "renamed.jpg"},
		{"-", "docs/in.txt", "docs", "in.txt"},
	} {
		b, k, err := putTarget(c.src, c.dest)
		if err != nil || b != c.bucket || k != c.key {
			t.Errorf("putTarget(%q, %q) = %q, %q, %v; want %q, %q", c.src, c.dest, b, k, err, c.bucket, c.key)
		}
	}
	for _, c := range [][2]string{{"-", "docs/"}, {"x", "docs"}, {"x", "/key"}, {"/", "docs/"}, {"..", "docs/"}} {
		if _, _, err := putTarget(c[0], c[1]); !errors.Is(err, errUsage) {
			t.Errorf("putTarget(%q, %q) = %v, want a usage error", c[0], c[1], err)
		}
	}
}

func TestProgressShowsRateAndETA(t *testing.T) {
	var b bytes.Buffer
	p := &progress{on: true, w: &b, label: "put x", total: 100 << 20, start: time.Now().Add(-10 * time.Second)}
	p.set(50 << 20)
	p.finish()
	if s := b.String(); !strings.Contains(s, "50.0%") || !strings.Contains(s, "/s") || !strings.Contains(s, "ETA 10s") {
		t.Errorf("progress line %q: want percent, rate and ETA 10s", s)
	}
}
