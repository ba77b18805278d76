package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/cliflag"
	"github.com/granary-store/granary/mount"
)

func runMount(ctx context.Context, e *env, args []string) error {
	var cf clientFlags
	fs := newFlagSet(e, "mount", "mount [flags] BUCKET[/PREFIX] MOUNTPOINT\n\n"+
		"Serves a bucket (or a prefix of it) as a FUSE file system in the foreground\n"+
		"until Ctrl-C or SIGTERM, then unmounts. See docs/MOUNT.md.")
	cf.register(fs, e)
	def := mount.DefaultConfig()
	readOnly := fs.Bool("read-only", false, "refuse every change (EROFS)")
	cacheDir := fs.String("cache-dir", filepath.Join(os.TempDir(), "granary-mount"), "folder for the local spool of files being changed")
	cacheSize := def.CacheSize
	fs.Var(cliflag.Size{N: &cacheSize}, "cache-size", "most local disk used by the spool (ENOSPC beyond), e.g. 10GiB")
	attrTTL := fs.Duration("attr-ttl", def.AttrTTL, "how long the kernel caches attributes")
	entryTTL := fs.Duration("entry-ttl", def.EntryTTL, "how long the kernel caches names and failed lookups")
	allowOther := fs.Bool("allow-other", false, "let other users use the mount (needs user_allow_other in /etc/fuse.conf unless root)")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics (/metrics) and pprof (/debug/pprof/) on this address")
	maxInodes := fs.Int("max-inodes", def.MaxInodes, "inode table cap")
	debug := fs.Bool("debug", false, "log every FUSE request")
	if err := parseConfig(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("%w: mount takes BUCKET[/PREFIX] and MOUNTPOINT", errUsage)
	}
	bucket, prefix, err := splitPath(fs.Arg(0), false)
	if err != nil {
		return err
	}
	dir := fs.Arg(1)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: mount point %s is not a directory", errUsage, dir)
	}
	if absCache, err1 := filepath.Abs(*cacheDir); err1 == nil {
		if absDir, err2 := filepath.Abs(dir); err2 == nil && (absCache == absDir || strings.HasPrefix(absCache, absDir+string(filepath.Separator))) {
			return fmt.Errorf("%w: --cache-dir %s is inside the mount point", errUsage, *cacheDir)
		}
	}
	if *attrTTL < 0 || *entryTTL < 0 {
		return fmt.Errorf("%w: TTLs must not be negative", errUsage)
	}
	ccfg, err := cf.config(e)
	if err != nil {
		return err
	}
	cl, err := client.New(ccfg)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	defer cl.Close()
	cfg := def
	cfg.Client, cfg.Bucket, cfg.Prefix = cl, bucket, prefix
	cfg.ReadOnly, cfg.CacheDir, cfg.CacheSize = *readOnly, *cacheDir, cacheSize
	cfg.AttrTTL, cfg.EntryTTL, cfg.AllowOther = *attrTTL, *entryTTL, *allowOther
	cfg.MaxInodes, cfg.Debug = *maxInodes, *debug
	cfg.Logger = slog.Default()
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	mctx, cancel := context.WithTimeout(ctx, cf.timeout)
	srv, err := mount.Mount(mctx, dir, cfg)
	cancel()
	if err != nil {
		return err
	}
	if *metricsAddr != "" {
		stop, err := serveMountMetrics(*metricsAddr, srv)
		if err != nil {
			srv.Close()
			return err
		}
		defer stop()
	}
	fmt.Fprintf(e.stderr, "granary: %s mounted on %s; Ctrl-C unmounts\n", fs.Arg(0), dir)
	done := make(chan struct{})
	go func() { // ends when the file system is unmounted, by us or from outside
		srv.Wait()
		close(done)
	}()
	select {
	case <-done:
		return srv.Close()
	case <-ctx.Done():
	}
	for {
		err := srv.Close()
		if !errors.Is(err, mount.ErrBusy) {
			return err
		}
		fmt.Fprintf(e.stderr, "granary: %s is busy: close the files and leave the directories under it (fuser -vm %s lists the processes); retrying every 2s, or run fusermount3 -u -z %s\n", dir, dir, dir)
		select {
		case <-done:
			return srv.Close()
		case <-time.After(2 * time.Second):
		}
	}
}

// serveMountMetrics serves /metrics and pprof until stop.
func serveMountMetrics(addr string, srv *mount.Server) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics address: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", srv.Metrics())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { // owned by stop
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !strings.Contains(err.Error(), "closed") {
			slog.Warn("metrics server", "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		<-done
	}, nil
}
