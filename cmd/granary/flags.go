package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/granary-store/granary/client"
)

// newFlagSet returns a flag set whose usage documents every flag. The
// usage goes to the flag set's output: standard error for mistakes,
// standard output when help is asked for (see parse).
func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: granary %s\n", synopsis)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintf(w, "\nflags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// errDescribed is returned by parse in describe mode (see env.describe).
var errDescribed = errors.New("flags described")

// scan is args split into flags (with their values) and positional
// arguments, so that flags may come before, between or after positional
// arguments. "--" ends the flags; a lone "-" is positional.
type scan struct {
	flags []string
	pos   []string
	posAt []int // index in args of each positional argument
	help  bool  // -h, -help, --h or --help among the flags
	err   error // a flag that takes a value is last
}

func scanArgs(fs *flag.FlagSet, args []string) scan {
	var sc scan
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			for j := i + 1; j < len(args); j++ {
				sc.pos, sc.posAt = append(sc.pos, args[j]), append(sc.posAt, j)
			}
			break
		}
		if len(a) < 2 || a[0] != '-' {
			sc.pos, sc.posAt = append(sc.pos, a), append(sc.posAt, i)
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		f := fs.Lookup(name)
		if f == nil && (name == "h" || name == "help") {
			sc.help = true
			continue
		}
		sc.flags = append(sc.flags, a)
		if f == nil || hasValue || isBoolFlag(f) {
			continue // unknown flags are reported by flag.Parse
		}
		if i+1 == len(args) {
			sc.err = fmt.Errorf("%w: flag %s needs a value", errUsage, a)
			break
		}
		i++
		sc.flags = append(sc.flags, args[i])
	}
	return sc
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// parse parses args, with flags anywhere among the positional arguments.
// -h or --help prints the usage on standard output and returns
// flag.ErrHelp, whatever else is given; mistakes print the usage on
// standard error and return errUsage. A positional argument that starts
// with "-" (other than "-" itself) is refused: it is a mistyped flag, not
// a name. Afterwards fs.Args() holds the positional arguments.
func parse(e *env, fs *flag.FlagSet, args []string) error {
	if e.describe != nil {
		e.describe(fs)
		return errDescribed
	}
	sc := scanArgs(fs, args)
	if sc.help {
		fs.SetOutput(e.stdout)
		fs.Usage()
		fs.SetOutput(e.stderr)
		return flag.ErrHelp
	}
	if sc.err != nil {
		return sc.err
	}
	if err := fs.Parse(append(append(sc.flags, "--"), sc.pos...)); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	for _, p := range sc.pos {
		if len(p) > 1 && p[0] == '-' {
			return fmt.Errorf("%w: argument %q looks like a flag (names may not start with \"-\"; write ./%s for a local file)", errUsage, p, p)
		}
	}
	return nil
}

// clientFlags are the flags of every command that talks to masters.
type clientFlags struct {
	masters    string
	secretFile string
	timeout    time.Duration
	tls        clusterTLS
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
	c.tls.register(fs, e)
}

// config returns the client configuration the flags describe: masters,
// secret and cluster TLS. Without --cluster-* flags (or their variables),
// a secret read from --secret-file comes with the client certificate that
// granary server --tls keeps beside it (DIR/tls), when there is one.
func (c *clientFlags) config(e *env) (client.Config, error) {
	secret, err := c.secret(e)
	if err != nil {
		return client.Config{}, err
	}
	files := c.tls.files
	if files.IsZero() && e.getenv("GRANARY_CLUSTER_SECRET") == "" {
		files = localClusterFiles(c.secretFile)
	}
	cfg := client.Config{Masters: c.addrs(), Secret: secret, RequestTimeout: c.timeout}
	if !files.IsZero() {
		ct := clusterTLS{files}
		if _, cfg.TLS, err = ct.load(nil); err != nil {
			return client.Config{}, err
		}
	}
	return cfg, nil
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
