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
	"sort"
	"syscall"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

// env is what a subcommand may use of the process.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
}

// errUsage marks a bad invocation (exit code 2).
var errUsage = errors.New("usage")

// errUnavailable marks a subcommand whose parts are not built yet (exit 2).
var errUnavailable = errors.New("not available yet")

func commands() map[string]command {
	return map[string]command{
		"server":      {"run master, chunk servers and S3 gateway in one process", runServer},
		"master":      {"run one metadata master (a Raft voter)", runMaster},
		"chunkserver": {"run a chunk server", runChunkserver},
		"gateway":     {"run an S3 gateway", runGateway},
		"mount":       {"mount a bucket with FUSE: mount BUCKET[/PREFIX] MOUNTPOINT", runMount},
		"admin":       {"cluster administration (status, members, buckets, keys)", runAdmin},
		"put":         {"upload a file: put LOCAL_FILE|- BUCKET/KEY", runPut},
		"get":         {"download an object: get BUCKET/KEY LOCAL_FILE|-", runGet},
		"ls":          {"list objects: ls BUCKET[/PREFIX]", runLs},
		"rm":          {"delete an object: rm BUCKET/KEY", runRm},
		"bench":       {"load generator (s3, native) and machine baseline", runBench},
		"healthcheck": {"probe a health URL; exit 0 on 2xx (for container health checks)", runHealthcheck},
	}
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
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-12s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'granary <command> -h' for the flags of a command.")
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
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
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
			fmt.Fprintln(e.stderr, "granary:", err)
		}
		return 2
	default:
		fmt.Fprintln(e.stderr, "granary:", err)
		return 1
	}
}
