package main

import (
	"context"
	"fmt"

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
	fs := newFlagSet(e, "rm", "rm [flags] BUCKET/KEY")
	cf.register(fs, e)
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: rm takes one BUCKET/KEY", errUsage)
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
