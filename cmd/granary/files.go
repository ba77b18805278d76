package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/granary-store/granary/client"
)

func runLs(ctx context.Context, e *env, args []string) error {
	var cf clientFlags
	fs := newFlagSet(e, "ls", "ls [flags] [BUCKET[/PREFIX]]   (no argument lists buckets)")
	cf.register(fs, e)
	recursive := fs.Bool("r", false, "list every key under the prefix instead of one directory level")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return fmt.Errorf("%w: ls takes at most one BUCKET[/PREFIX]", errUsage)
	}
	cl, ctx, cancel, err := dial(ctx, e, &cf)
	if err != nil {
		return err
	}
	defer cancel()
	if fs.NArg() == 0 {
		return adminBuckets(ctx, e, cl.Admin())
	}
	bucket, prefix, err := splitPath(fs.Arg(0), false)
	if err != nil {
		return err
	}
	req := client.ListRequest{Bucket: bucket, Prefix: prefix}
	if !*recursive {
		req.Delimiter = "/"
	}
	for {
		res, err := cl.List(ctx, req)
		if err != nil {
			return err
		}
		for _, p := range res.CommonPrefixes {
			fmt.Fprintf(e.stdout, "%19s  %12s  %s\n", "", "DIR", p)
		}
		for _, o := range res.Objects {
			fmt.Fprintf(e.stdout, "%s  %12d  %s\n", o.Modified.Local().Format("2006-01-02 15:04:05"), o.Size, o.Key)
		}
		if !res.IsTruncated {
			return nil
		}
		req.StartAfter = res.NextStartAfter
	}
}

func runRm(ctx context.Context, e *env, args []string) error {
	var cf clientFlags
	fs := newFlagSet(e, "rm", "rm [flags] BUCKET/KEY\n       granary rm -r [flags] BUCKET/PREFIX   (every key under the prefix; BUCKET/ empties the bucket)")
	cf.register(fs, e)
	recursive := fs.Bool("r", false, "delete every key that starts with the prefix")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: rm takes one BUCKET/KEY (or -r BUCKET/PREFIX)", errUsage)
	}
	if *recursive {
		if !strings.Contains(fs.Arg(0), "/") {
			return fmt.Errorf("%w: rm -r takes BUCKET/PREFIX; write %s/ to delete every key in the bucket", errUsage, fs.Arg(0))
		}
		bucket, prefix, err := splitPath(fs.Arg(0), false)
		if err != nil {
			return err
		}
		cl, err := newDataClient(e, &cf)
		if err != nil {
			return err
		}
		defer cl.Close()
		return removePrefix(ctx, e, cl, cf.timeout, bucket, prefix)
	}
	bucket, key, err := splitPath(fs.Arg(0), true)
	if err != nil {
		return err
	}
	cl, ctx, cancel, err := dial(ctx, e, &cf)
	if err != nil {
		return err
	}
	defer cancel()
	return cl.Delete(ctx, bucket, key)
}

// removePrefix deletes every key under prefix, page by page, each call
// bounded by timeout, and prints each key it deleted.
func removePrefix(ctx context.Context, e *env, cl *client.Client, timeout time.Duration, bucket, prefix string) error {
	req := client.ListRequest{Bucket: bucket, Prefix: prefix}
	deleted := 0
	for {
		lctx, cancel := context.WithTimeout(ctx, timeout)
		res, err := cl.List(lctx, req)
		cancel()
		if err != nil {
			return fmt.Errorf("list %s/%s (after deleting %d objects): %w", bucket, prefix, deleted, err)
		}
		for _, o := range res.Objects {
			dctx, cancel := context.WithTimeout(ctx, timeout)
			err := cl.Delete(dctx, bucket, o.Key)
			cancel()
			if err != nil && !errors.Is(err, client.ErrNoSuchKey) {
				return fmt.Errorf("delete %s/%s (after deleting %d objects): %w", bucket, o.Key, deleted, err)
			}
			deleted++
			fmt.Fprintf(e.stdout, "deleted %s/%s\n", bucket, o.Key)
		}
		if !res.IsTruncated {
			return nil
		}
		req.StartAfter = res.NextStartAfter
	}
}
