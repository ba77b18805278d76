package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/granary-store/granary/internal/bench"
	"github.com/granary-store/granary/internal/cliflag"
)

const benchSynopsis = `bench s3|native|baseline|report [flags]

  s3        load an S3 endpoint (any S3 server) through minio-go
  native    the same workloads through the Go client library
  baseline  this machine's disk, loopback TCP and hashing speed in --dir
  report    a markdown table (ratios to the baseline) and an SVG chart from result directories`

// benchModes are bench's subcommands.
var benchModes = []string{"s3", "native", "baseline", "report"}

func runBench(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || !slices.Contains(benchModes, args[0]) {
		if e.describe != nil {
			return errDescribed
		}
		for _, a := range args {
			if a == "--" {
				break
			}
			if a == "-h" || a == "-help" || a == "--help" {
				fmt.Fprintln(e.stdout, "usage: granary "+benchSynopsis)
				return flag.ErrHelp
			}
		}
		if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			return fmt.Errorf("%w: unknown bench mode %q (want %s)", errUsage, args[0], strings.Join(benchModes, ", "))
		}
		fmt.Fprintln(e.stderr, "usage: granary "+benchSynopsis)
		return fmt.Errorf("%w: name a bench mode first: %s", errUsage, strings.Join(benchModes, ", "))
	}
	switch args[0] {
	case "s3", "native":
		return benchLoad(ctx, e, args[0], args[1:])
	case "baseline":
		return benchBaseline(e, args[1:])
	case "report":
		return benchReport(e, args[1:])
	}
	return fmt.Errorf("%w: unknown bench mode %q", errUsage, args[0])
}

func benchLoad(ctx context.Context, e *env, mode string, args []string) error {
	cfg := bench.Config{Size: 4 << 10, Concurrency: 16, Duration: 30 * time.Second, Bucket: "granary-bench"}
	fs := newFlagSet(e, "bench "+mode, "bench "+mode+" [flags]")
	var endpoint, access, secret, region string
	var secure bool
	var cf clientFlags
	if mode == "s3" {
		fs.StringVar(&endpoint, "endpoint", "", "S3 endpoint host:port (required)")
		fs.StringVar(&access, "access-key", e.getenv("GRANARY_ACCESS_KEY"), "access key (default GRANARY_ACCESS_KEY)")
		fs.StringVar(&secret, "secret-key", e.getenv("GRANARY_SECRET_KEY"), "secret key (default GRANARY_SECRET_KEY)")
		fs.StringVar(&region, "region", "us-east-1", "region to sign for")
		fs.BoolVar(&secure, "tls", false, "use HTTPS")
	} else {
		cf.register(fs, e)
	}
	fs.StringVar(&cfg.Op, "op", "put", "workload: "+strings.Join(bench.Ops, ", ")+" (mixed: 70% get, 30% put)")
	fs.Var(cliflag.Size{N: &cfg.Size}, "size", "object size (KiB, MiB, GiB)")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "concurrent operations")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long to run")
	fs.IntVar(&cfg.Objects, "objects", 0, "objects to prefill for get, mixed, list and delete (default: 4 per worker, at least 64)")
	fs.StringVar(&cfg.Bucket, "bucket", cfg.Bucket, "bucket to use (created and removed unless it exists)")
	fs.BoolVar(&cfg.Keep, "keep", false, "keep the objects written")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	var target bench.Target
	if mode == "s3" {
		if endpoint == "" || access == "" || secret == "" {
			return fmt.Errorf("%w: --endpoint, --access-key and --secret-key are required", errUsage)
		}
		endpoint = strings.TrimPrefix(strings.TrimPrefix(endpoint, "http://"), "https://")
		t, err := bench.NewS3(endpoint, access, secret, region, secure)
		if err != nil {
			return err
		}
		target = t
	} else {
		c, err := newDataClient(e, &cf)
		if err != nil {
			return err
		}
		defer c.Close()
		target = bench.NewNative(c)
	}
	rep, err := bench.Run(ctx, target, cfg, terminal(e))
	if err != nil {
		return err
	}
	printReport(e.stdout, rep)
	return writeJSON(*jsonOut, rep)
}

// terminal returns stderr when it is a terminal (for the progress line).
func terminal(e *env) io.Writer {
	if f, ok := e.stderr.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return f
		}
	}
	return nil
}

func printReport(w io.Writer, r bench.Report) {
	c, s := r.Config, r.Summary
	fmt.Fprintf(w, "target       %s\nsettings     op=%s size=%s concurrency=%d duration=%v objects=%d bucket=%s keep=%v\n",
		r.Target, c.Op, bench.FormatSize(c.Size), c.Concurrency, c.Duration, r.Prefill, c.Bucket, c.Keep)
	fmt.Fprintf(w, "operations   %d in %.2fs: %.1f ops/s, %.2f MiB/s\n", s.Ops, s.Seconds, s.OpsPerSec, s.MiBPerSec)
	if s.Items > 0 {
		fmt.Fprintf(w, "listed       %d keys: %.0f keys/s\n", s.Items, s.ItemsPerSec)
	}
	fmt.Fprintf(w, "latency      p50 %.2fms  p90 %.2fms  p99 %.2fms  max %.2fms\n", s.P50Ms, s.P90Ms, s.P99Ms, s.MaxMs)
	fmt.Fprintf(w, "errors       %d\n", s.Errors)
	for k, n := range s.ErrorKinds {
		fmt.Fprintf(w, "  %6d  %s\n", n, k)
	}
	if !r.Cleaned && !c.Keep {
		fmt.Fprintf(w, "cleanup      incomplete, some benchmark objects may remain: %s\n", r.CleanupError)
	}
}

func writeJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func benchBaseline(e *env, args []string) error {
	fs := newFlagSet(e, "bench baseline", "bench baseline --dir DIR [flags]")
	dir := fs.String("dir", "", "directory on the disk to measure (required)")
	budget := fs.Duration("time", 2*time.Second, "time per measurement")
	sizesFlag := fs.String("sizes", "4KiB,1MiB,64MiB", "object sizes to write and read, comma-separated")
	jsonOut := fs.String("json", "", "also write the results as JSON to this file")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if *dir == "" || *budget <= 0 {
		return fmt.Errorf("%w: --dir is required", errUsage)
	}
	var sizes []int64
	for _, s := range splitList(*sizesFlag) {
		n, err := cliflag.ParseSize(s)
		if err != nil || n <= 0 {
			return fmt.Errorf("%w: bad size %q", errUsage, s)
		}
		sizes = append(sizes, n)
	}
	b, err := bench.MeasureBaseline(*dir, sizes, *budget)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "baseline     %s\n", b.Dir)
	for _, d := range b.Disk {
		fmt.Fprintf(e.stdout, "disk %-7s write+fsync %.0f ops/s %.1f MiB/s   read %.0f ops/s %.1f MiB/s\n",
			bench.FormatSize(d.Size), d.WriteOpsPerSec, d.WriteMiBPerSec, d.ReadOpsPerSec, d.ReadMiBPerSec)
	}
	fmt.Fprintf(e.stdout, "loopback TCP %.0f MiB/s (one stream)\n", b.TCP)
	fmt.Fprintf(e.stdout, "one core     crc32c %.0f MiB/s   md5 %.0f MiB/s   sha256 %.0f MiB/s\n", b.Hash["crc32c"], b.Hash["md5"], b.Hash["sha256"])
	return writeJSON(*jsonOut, b)
}

func benchReport(e *env, args []string) error {
	fs := newFlagSet(e, "bench report", "bench report [flags] DIR[=LABEL] ...")
	out := fs.String("out", "", "markdown file to write (default: standard output)")
	chart := fs.String("chart", "", "SVG chart to write")
	title := fs.String("title", "Granary benchmark", "heading of the report")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: name at least one result directory", errUsage)
	}
	var sets []bench.Results
	for _, arg := range fs.Args() {
		dir, label, _ := strings.Cut(arg, "=")
		if label == "" {
			label = dir
		}
		r, err := bench.LoadResults(dir, label)
		if err != nil {
			return err
		}
		sets = append(sets, r)
	}
	w := e.stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	fmt.Fprintf(w, "## %s\n\n", *title)
	bench.WriteMarkdown(w, sets)
	if *chart != "" {
		if err := bench.WriteChart(*chart, sets); err != nil {
			return err
		}
		fmt.Fprintf(w, "![throughput and latency](%s)\n", filepath.Base(*chart))
	}
	return nil
}
