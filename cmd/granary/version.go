package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and commit are set at build time, as in
// go build -ldflags "-X main.version=v1.2.3 -X main.commit=abc123"
// (the Makefile passes `git describe --always --dirty` and `git rev-parse
// HEAD`). Without them the build info's module version and VCS stamp are
// used, when the build recorded them.
var version, commit = "", ""

// buildInfo is what `granary version` prints.
type buildInfo struct {
	Version, Commit, Time, Go, Platform string
	Modified                            bool
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.time":
				b.Time = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	return b
}

func runVersion(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "version", "version\n\nPrints the version, the commit it was built from and the Go version.\n'granary --version' does the same.")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: version takes no arguments", errUsage)
	}
	b := readBuildInfo()
	commit := b.Commit
	switch {
	case commit == "":
		commit = "unknown"
	case b.Modified:
		commit += " (with uncommitted changes)"
	}
	fmt.Fprintf(e.stdout, "granary %s\ncommit: %s\n", b.Version, commit)
	if b.Time != "" {
		fmt.Fprintf(e.stdout, "commit time: %s\n", b.Time)
	}
	fmt.Fprintf(e.stdout, "go: %s %s\n", b.Go, b.Platform)
	return nil
}
