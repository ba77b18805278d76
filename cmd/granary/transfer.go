package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/granary-store/granary/client"
)

func newDataClient(e *env, cf *clientFlags) (*client.Client, error) {
	cfg, err := cf.config(e)
	if err != nil {
		return nil, err
	}
	return client.New(cfg)
}

func runPut(ctx context.Context, e *env, args []string) error {
	var cf clientFlags
	fs := newFlagSet(e, "put", "put [flags] LOCAL_FILE|- BUCKET/KEY")
	cf.register(fs, e)
	contentType := fs.String("content-type", "", "content type to store with the object")
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("%w: put takes LOCAL_FILE|- and BUCKET/KEY (or BUCKET/ to keep the file name)", errUsage)
	}
	bucket, key, err := putTarget(fs.Arg(0), fs.Arg(1))
	if err != nil {
		return err
	}
	src, size, err := openSource(fs.Arg(0))
	if err != nil {
		return err
	}
	defer src.Close()
	cl, err := newDataClient(e, &cf)
	if err != nil {
		return err
	}
	defer cl.Close()
	bar := newProgress(e, "put "+bucket+"/"+key, size)
	defer bar.finish()
	obj, err := cl.Put(ctx, bucket, key, src, size, &client.PutOptions{ContentType: *contentType, Progress: bar.set})
	if err != nil {
		return explainUnreachable(ctx, cl, err, cf.timeout)
	}
	bar.finish()
	fmt.Fprintf(e.stdout, "%s/%s  %d bytes  etag %s\n", bucket, key, obj.Size, obj.ETag)
	return nil
}

// putTarget returns the bucket and key put writes to: dest is BUCKET/KEY,
// or BUCKET/ or BUCKET/PREFIX/ to which the local file's base name is added.
func putTarget(src, dest string) (bucket, key string, err error) {
	bucket, key, ok := strings.Cut(dest, "/")
	if !ok || bucket == "" {
		return "", "", fmt.Errorf("%w: %q is not BUCKET/KEY or BUCKET/", errUsage, dest)
	}
	if key == "" || strings.HasSuffix(key, "/") {
		if src == "-" {
			return "", "", fmt.Errorf("%w: standard input has no file name: give the whole key (BUCKET/KEY)", errUsage)
		}
		base := filepath.Base(src)
		if base == "." || base == ".." || base == string(filepath.Separator) {
			return "", "", fmt.Errorf("%w: %q has no file name to use as the key", errUsage, src)
		}
		key += base
	}
	return bucket, key, nil
}

func openSource(name string) (io.ReadCloser, int64, error) {
	if name == "-" {
		return io.NopCloser(os.Stdin), -1, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s is not a regular file", name)
	}
	return f, st.Size(), nil
}

func runGet(ctx context.Context, e *env, args []string) error {
	var cf clientFlags
	fs := newFlagSet(e, "get", "get [flags] BUCKET/KEY LOCAL_FILE|-")
	cf.register(fs, e)
	if err := parse(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("%w: get takes BUCKET/KEY and LOCAL_FILE|-", errUsage)
	}
	bucket, key, err := splitPath(fs.Arg(0), true)
	if err != nil {
		return err
	}
	cl, err := newDataClient(e, &cf)
	if err != nil {
		return err
	}
	defer cl.Close()
	obj, err := cl.Open(ctx, bucket, key)
	if err != nil {
		return err
	}
	if err := writeOut(e, fs.Arg(1), obj); err != nil {
		return explainUnreachable(ctx, cl, err, cf.timeout)
	}
	return nil
}

// explainUnreachable adds the real cause to a data-path error when some
// live chunk server cannot be reached from this machine (a container
// cluster whose servers advertise names only its own network resolves):
// the client excludes such servers and the error then speaks of placement.
func explainUnreachable(ctx context.Context, cl *client.Client, err error, timeout time.Duration) error {
	if !errors.Is(err, client.ErrNotEnoughServers) && !errors.Is(err, client.ErrUnavailable) &&
		!errors.Is(err, context.DeadlineExceeded) && !isNetError(err) {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(timeout, 5*time.Second))
	defer cancel()
	css, lerr := cl.Admin().ChunkServers(ctx)
	if lerr != nil {
		return err
	}
	var causes []string
	for _, cs := range css {
		if cs.State != "alive" && cs.State != "draining" {
			continue
		}
		conn, derr := (&net.Dialer{}).DialContext(ctx, "tcp", cs.Address)
		if derr != nil {
			causes = append(causes, fmt.Sprintf("chunk server %s at %s: %v", cs.ID, cs.Address, derr))
			continue
		}
		conn.Close()
	}
	if len(causes) == 0 {
		return err
	}
	return fmt.Errorf("%w\ncause: this machine cannot reach the chunk servers' advertised addresses "+
		"(run the command where they resolve, give the servers reachable --advertise addresses, or use the S3 gateway):\n  %s",
		err, strings.Join(causes, "\n  "))
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

// writeOut copies the object to stdout, or to a temporary file renamed
// over dest once complete (no half-written file under the final name).
func writeOut(e *env, dest string, obj *client.Object) error {
	bar := newProgress(e, "get "+obj.Info().Key, obj.Size())
	defer bar.finish()
	if dest == "-" {
		_, err := obj.WriteTo(&progressWriter{w: e.stdout, bar: bar})
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".granary-get-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := obj.WriteTo(&progressWriter{w: tmp, bar: bar}); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dest)
}

// progress draws a one-line progress bar on stderr when it is a terminal
// and the transfer is large; otherwise it does nothing.
type progress struct {
	mu      sync.Mutex
	on      bool
	w       io.Writer
	label   string
	total   int64
	done    int64
	start   time.Time
	last    time.Time
	stopped bool
}

func newProgress(e *env, label string, total int64) *progress {
	on := terminal(e) != nil && (total < 0 || total >= 8<<20)
	return &progress{on: on, w: e.stderr, label: label, total: total, start: time.Now()}
}

func (p *progress) set(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = n
	if p.on && !p.stopped && time.Since(p.last) >= 200*time.Millisecond {
		p.last = time.Now()
		p.draw()
	}
}

func (p *progress) draw() {
	rate := float64(p.done) / max(time.Since(p.start).Seconds(), 1e-3)
	if p.total > 0 {
		pct := float64(p.done) * 100 / float64(p.total)
		eta := "--"
		if rate > 0 && p.done > 0 {
			eta = (time.Duration(float64(p.total-p.done)/rate) * time.Second).Round(time.Second).String()
		}
		fmt.Fprintf(p.w, "\r%s  %s / %s  %5.1f%%  %s/s  ETA %s   ", p.label, human(p.done), human(p.total), pct, human(int64(rate)), eta)
		return
	}
	fmt.Fprintf(p.w, "\r%s  %s  %s/s   ", p.label, human(p.done), human(int64(rate)))
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.on && !p.stopped {
		p.draw()
		fmt.Fprintln(p.w)
	}
	p.stopped = true
}

type progressWriter struct {
	w   io.Writer
	bar *progress
	n   int64
}

func (pw *progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	pw.n += int64(n)
	pw.bar.set(pw.n)
	return n, err
}

func human(n int64) string {
	f := float64(n)
	for _, u := range []string{"B", "KiB", "MiB", "GiB", "TiB"} {
		if f < 1024 || u == "TiB" {
			return fmt.Sprintf("%.1f %s", f, u)
		}
		f /= 1024
	}
	return ""
}
