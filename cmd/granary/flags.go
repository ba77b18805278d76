package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/granary-store/granary/internal/bench"
)

// sizeFlag parses sizes such as 64MiB, 512KiB, 1GiB or plain bytes.
type sizeFlag struct{ n *int64 }

func (s sizeFlag) String() string {
	if s.n == nil {
		return ""
	}
	return bench.FormatSize(*s.n)
}

func (s sizeFlag) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s.n = n
	return nil
}

func parseSize(v string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}, {"", 1}}
	for _, u := range units {
		if !strings.HasSuffix(v, u.suffix) {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), 10, 64)
		if err != nil || n < 0 || n > (1<<62)/u.mult {
			return 0, fmt.Errorf("bad size %q (use a number with KiB, MiB or GiB)", v)
		}
		return n * u.mult, nil
	}
	return 0, fmt.Errorf("bad size %q", v)
}

// newFlagSet returns a flag set whose usage documents every flag.
func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: granary %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, mapping errors to errUsage (and -h to flag.ErrHelp).
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

// clientFlags are the flags of every command that talks to masters.
type clientFlags struct {
	masters    string
	secretFile string
	timeout    time.Duration
}

func (c *clientFlags) register(fs *flag.FlagSet, e *env) {
	def := e.getenv("GRANARY_MASTERS")
	if def == "" {
		def = "127.0.0.1:9333"
	}
	fs.StringVar(&c.masters, "masters", def, "master HTTP addresses, comma-separated (default from GRANARY_MASTERS)")
	fs.StringVar(&c.secretFile, "secret-file", filepath.Join("data", "cluster-secret"),
		"file holding the cluster secret, read when GRANARY_CLUSTER_SECRET is unset (granary server writes it)")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second,
		"ls, rm and admin: give up on the whole call after this long; put, get and bench native: give up on a chunk request that moves no bytes for this long")
}

func (c *clientFlags) addrs() []string { return splitList(c.masters) }

// splitList splits a comma-separated list, dropping blanks and spaces.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// secret returns GRANARY_CLUSTER_SECRET, or the contents of the secret file.
func (c *clientFlags) secret(e *env) (string, error) {
	if s := e.getenv("GRANARY_CLUSTER_SECRET"); s != "" {
		return s, nil
	}
	b, err := os.ReadFile(c.secretFile)
	if errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("no cluster secret: set GRANARY_CLUSTER_SECRET or point --secret-file at the server's cluster-secret file")
	}
	if err != nil {
		return "", fmt.Errorf("read cluster secret: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// clusterSecret returns GRANARY_CLUSTER_SECRET for a master or gateway;
// it is a usage error to leave it unset without --insecure.
func clusterSecret(e *env, insecure bool) (string, error) {
	s := e.getenv("GRANARY_CLUSTER_SECRET")
	if s == "" && !insecure {
		return "", fmt.Errorf("%w: GRANARY_CLUSTER_SECRET is not set (or pass --insecure)", errUsage)
	}
	return s, nil
}

// splitPath splits BUCKET/KEY (the key may be empty when allowed).
func splitPath(p string, needKey bool) (bucket, key string, err error) {
	bucket, key, _ = strings.Cut(p, "/")
	if bucket == "" || (needKey && key == "") {
		want := "BUCKET[/PREFIX]"
		if needKey {
			want = "BUCKET/KEY"
		}
		return "", "", fmt.Errorf("%w: %q is not %s", errUsage, p, want)
	}
	return bucket, key, nil
}

var _ io.Writer = (*strings.Builder)(nil)
