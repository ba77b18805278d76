// Command granary is Granary's single binary: servers, the admin and file
// CLI, and the benchmark tool. This package only parses flags, builds
// configurations and runs what they describe.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, env *env, args []string) error
	subs    []string // its own subcommands, for help tests and completion
}

// env is what a subcommand may use of the process.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// describe, when set, is given the flag set of the command instead of
	// running it: parse calls it and returns errDescribed before anything
	// else happens (shell completion is generated this way).
	describe func(*flag.FlagSet)
}

// errUsage marks a bad invocation (exit code 2).
var errUsage = errors.New("usage")

// errUnavailable marks a subcommand whose parts are not built yet (exit 2).
var errUnavailable = errors.New("not available yet")

func commands() map[string]command {
	return map[string]command{
		"server":      {"run master, chunk servers and S3 gateway in one process", runServer, nil},
		"master":      {"run one metadata master (a Raft voter)", runMaster, nil},
		"chunkserver": {"run a chunk server", runChunkserver, nil},
		"gateway":     {"run an S3 gateway", runGateway, nil},
		"mount":       {"mount a bucket with FUSE: mount BUCKET[/PREFIX] MOUNTPOINT", runMount, nil},
		"admin":       {"cluster administration (status, members, buckets, users, keys)", runAdmin, adminSubNames()},
		"put":         {"upload a file: put LOCAL_FILE|- BUCKET/KEY (or BUCKET/ to keep the file name)", runPut, nil},
		"get":         {"download an object: get BUCKET/KEY LOCAL_FILE|-", runGet, nil},
		"ls":          {"list objects: ls BUCKET[/PREFIX]", runLs, nil},
		"rm":          {"delete an object: rm BUCKET/KEY", runRm, nil},
		"bench":       {"load generator (s3, native) and machine baseline", runBench, benchModes},
		"healthcheck": {"probe a health URL; exit 0 on 2xx (for container health checks)", runHealthcheck, nil},
		"version":     {"print the version, commit and Go version of this binary", runVersion, nil},
		"completion":  {"print a shell completion script: completion bash|zsh|fish", runCompletion, shells},
	}
}

// commandNames returns the command names in order.
func commandNames() []string {
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func notYet(name, what string) func(context.Context, *env, []string) error {
	return func(_ context.Context, e *env, args []string) error {
		fs := flag.NewFlagSet(name, flag.ContinueOnError)
		fs.SetOutput(e.stderr)
		fs.Usage = func() {
			fmt.Fprintf(e.stderr, "granary %s: %s is not available yet in this build.\n", name, what)
		}
		if err := fs.Parse(args); err != nil {
			return errUsage
		}
		return fmt.Errorf("%s: %s is %w in this build", name, what, errUnavailable)
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: granary <command> [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	cmds := commands()
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-12s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nflags:\n  -h, --help    print help (on any command or subcommand; nothing is run)\n  --version     print the version")
	fmt.Fprintln(w, "\nFlags may come before or after arguments; \"--\" ends the flags.")
	fmt.Fprintln(w, "Run 'granary COMMAND -h' (or 'granary help COMMAND [SUBCOMMAND]') for a command's arguments and flags.")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
	stop()
	os.Exit(code)
}

// run executes one invocation and returns the process exit code.
func run(ctx context.Context, args []string, e *env) int {
	slog.SetDefault(slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if len(args) == 0 {
		usage(e.stderr)
		return 2
	}
	switch args[0] {
	case "help":
		if len(args) > 1 { // granary help COMMAND [SUBCOMMAND]
			args = append(slices.Clone(args[1:]), "--help")
			break
		}
		usage(e.stdout)
		return 0
	case "-h", "-help", "--help":
		usage(e.stdout)
		return 0
	case "-version", "--version":
		args = []string{"version"}
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "granary: unknown command %q\n\n", args[0])
		usage(e.stderr)
		return 2
	}
	err := cmd.run(ctx, e, args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage), errors.Is(err, errUnavailable):
		if !errors.Is(err, errUsage) || err.Error() != errUsage.Error() {
			fmt.Fprintln(e.stderr, "granary:", errorMessage(err))
		}
		return 2
	default:
		fmt.Fprintln(e.stderr, "granary:", errorMessage(err))
		return 1
	}
}

// errorMessage is err's text for people. Each layer an error passed
// through may have put its name or the cluster's error code in front
// ("client: allocate chunk: NotEnoughServers: master: placement: ..."), and
// wrapping may repeat a prefix ("open x: open x: ..."): those segments are
// dropped, as is the "usage" mark of usage errors. The error itself is
// unchanged (callers still match it with errors.Is).
func errorMessage(err error) string {
	parts := strings.Split(err.Error(), ": ")
	out := make([]string, 0, len(parts))
	for i, p := range parts {
		if i < len(parts)-1 && (layerNames[p] || errorCode.MatchString(p) || (i == 0 && p == errUsage.Error())) {
			continue
		}
		if len(out) > 0 && p == out[len(out)-1] {
			continue
		}
		out = append(out, p)
	}
	msg := strings.Join(out, ": ")
	for _, sign := range tlsMismatch {
		if strings.Contains(msg, sign) {
			return msg + " (the cluster runs mutual TLS: pass --cluster-ca, --cluster-cert and --cluster-key, or set GRANARY_CLUSTER_CA, _CERT and _KEY; see granary admin certs)"
		}
	}
	return msg
}

// tlsMismatch are signs, in an error, of a caller without the cluster's
// TLS certificate: plain http to a TLS server, or TLS without a client
// certificate.
var tlsMismatch = []string{"HTTP request to an HTTPS server", "no client certificate from the cluster CA", "tls: certificate required"}

// layerNames are the prefixes packages put on the errors they pass on.
var layerNames = map[string]bool{
	"granary": true, "client": true, "master": true, "masterclient": true, "chunkclient": true,
	"placement": true, "rpc": true, "chunkserver": true, "gateway": true,
}

// errorCode matches a cluster error code used as a prefix (NoSuchKey).
var errorCode = regexp.MustCompile(`^[A-Z][a-z]+(?:[A-Z][a-z]+)+$`)
