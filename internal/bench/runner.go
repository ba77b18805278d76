package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/granary-store/granary/internal/cliflag"
)

// Target is a store the generator drives.
type Target interface {
	// Name says what is measured ("s3 http://...", "native").
	Name() string
	// EnsureBucket creates the bucket unless it exists; it reports whether
	// it created it.
	EnsureBucket(ctx context.Context, bucket string) (bool, error)
	Put(ctx context.Context, bucket, key string, data []byte) error
	// Get reads an object fully and returns its size.
	Get(ctx context.Context, bucket, key string) (int64, error)
	// List returns every key under prefix.
	List(ctx context.Context, bucket, prefix string) ([]string, error)
	Delete(ctx context.Context, bucket, key string) error
	DeleteBucket(ctx context.Context, bucket string) error
}

// Ops the generator runs.
var Ops = []string{"put", "get", "mixed", "list", "delete"}

// Config is one run's settings, reported with its results.
type Config struct {
	Op          string        `json:"op"`
	Size        int64         `json:"size"`
	Concurrency int           `json:"concurrency"`
	Duration    time.Duration `json:"duration"`
	Objects     int           `json:"objects"`
	Bucket      string        `json:"bucket"`
	Keep        bool          `json:"keep"`
}

// Validate checks the settings.
func (c *Config) Validate() error {
	switch {
	case !slices.Contains(Ops, c.Op):
		return fmt.Errorf("op %q is not one of %v", c.Op, Ops)
	case c.Size < 0 || c.Size > 5<<30:
		return fmt.Errorf("size %d is not 0 to 5GiB", c.Size)
	case c.Concurrency < 1 || c.Concurrency > 4096:
		return fmt.Errorf("concurrency %d is not 1 to 4096", c.Concurrency)
	case c.Duration <= 0:
		return errors.New("duration must be positive")
	case c.Objects < 0:
		return errors.New("objects must not be negative")
	case c.Bucket == "":
		return errors.New("a bucket is required")
	}
	return nil
}

// Report is a run's settings and results.
type Report struct {
	Target  string    `json:"target"`
	Config  Config    `json:"config"`
	Started time.Time `json:"started"`
	Summary Summary   `json:"summary"`
	Prefill int       `json:"prefill"`
	Cleaned bool      `json:"cleaned"`
	// CleanupError says why cleaning up failed, when it did.
	CleanupError string `json:"cleanupError,omitempty"`
}

// Run drives target with cfg. progress, when not nil, gets a live line
// twice a second.
func Run(ctx context.Context, t Target, cfg Config, progress io.Writer) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	rep := Report{Target: t.Name(), Config: cfg, Started: time.Now().UTC()}
	created, err := t.EnsureBucket(ctx, cfg.Bucket)
	if err != nil {
		return rep, fmt.Errorf("bench: bucket %s: %w", cfg.Bucket, err)
	}
	data := payload(cfg.Size)
	keys, err := prefill(ctx, t, cfg, data)
	rep.Prefill = len(keys)
	if err != nil {
		return rep, err
	}
	var rec Recorder
	w := &workload{t: t, cfg: cfg, data: data, keys: keys, rec: &rec}
	start := time.Now()
	w.run(ctx, progress, start)
	rep.Summary = rec.Summarize(time.Since(start))
	if !cfg.Keep {
		if err := cleanup(ctx, t, cfg.Bucket, created); err != nil {
			rep.CleanupError = err.Error()
		} else {
			rep.Cleaned = true
		}
	}
	return rep, nil
}

func payload(n int64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 42))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// prefill writes the objects that get, mixed, list and delete read.
func prefill(ctx context.Context, t Target, cfg Config, data []byte) ([]string, error) {
	n := cfg.Objects
	if cfg.Op == "put" {
		return nil, nil
	}
	if n == 0 {
		n = max(cfg.Concurrency*4, 64)
	}
	keys := make([]string, n)
	var next atomic.Int64
	errc := make(chan error, cfg.Concurrency)
	var wg sync.WaitGroup
	for range min(cfg.Concurrency, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				keys[i] = fmt.Sprintf("bench/pre/%08d", i)
				if err := t.Put(ctx, cfg.Bucket, keys[i], data); err != nil {
					errc <- fmt.Errorf("bench: prefill %s: %w", keys[i], err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	return keys, <-errc
}

type workload struct {
	t    Target
	cfg  Config
	data []byte
	keys []string
	rec  *Recorder

	deleted atomic.Int64
}

func (w *workload) run(ctx context.Context, progress io.Writer, start time.Time) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	for i := range w.cfg.Concurrency {
		wg.Add(1)
		go func() { defer wg.Done(); w.worker(ctx, i) }()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			if progress != nil {
				w.line(progress, start)
				fmt.Fprintln(progress)
			}
			return
		case <-tick.C:
			if progress != nil {
				w.line(progress, start)
			}
		}
	}
}

func (w *workload) line(out io.Writer, start time.Time) {
	ops, bytes, errs := w.rec.Counts()
	el := time.Since(start).Seconds()
	fmt.Fprintf(out, "\r%s %s c=%d  %5.1fs  %d ops  %.1f ops/s  %.1f MiB/s  %d errors   ",
		w.cfg.Op, FormatSize(w.cfg.Size), w.cfg.Concurrency, el, ops, float64(ops)/el, float64(bytes)/(1<<20)/el, errs)
}

// worker runs operations until the deadline. mixed is 70% get, 30% put.
func (w *workload) worker(ctx context.Context, id int) {
	r := rand.New(rand.NewPCG(uint64(id), 7))
	for seq := 0; ctx.Err() == nil; seq++ {
		op := w.cfg.Op
		if op == "mixed" {
			op = "get"
			if r.IntN(10) < 3 {
				op = "put"
			}
		}
		if !w.one(ctx, op, id, seq, r) {
			return
		}
	}
}

// one runs a single operation; false means the worker has no more work.
func (w *workload) one(ctx context.Context, op string, id, seq int, r *rand.Rand) bool {
	start := time.Now()
	var n int64
	var err error
	switch op {
	case "put":
		key := fmt.Sprintf("bench/w%03d/%08d", id, seq)
		if err = w.t.Put(ctx, w.cfg.Bucket, key, w.data); err == nil {
			n = int64(len(w.data))
		}
	case "get":
		n, err = w.t.Get(ctx, w.cfg.Bucket, w.keys[r.IntN(len(w.keys))])
	case "list":
		var keys []string
		keys, err = w.t.List(ctx, w.cfg.Bucket, "bench/")
		if ctx.Err() == nil {
			w.rec.ObserveItems(time.Since(start), int64(len(keys)), err)
		}
		return true
	case "delete":
		i := int(w.deleted.Add(1)) - 1
		if i >= len(w.keys) {
			return false
		}
		err = w.t.Delete(ctx, w.cfg.Bucket, w.keys[i])
	}
	if ctx.Err() != nil && err != nil {
		return false // cut off by the deadline: not an error of the store
	}
	w.rec.Observe(time.Since(start), n, err)
	return true
}

// cleanup deletes everything under the run's prefix, including writes the
// deadline cut off after the store had them: it lists and deletes in rounds
// until the prefix is empty (a straggling commit shows up in the next
// round), then removes the bucket if the run created it.
func cleanup(ctx context.Context, t Target, bucket string, created bool) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	var err error
	for round, wait := 0, 100*time.Millisecond; round < 6; round, wait = round+1, wait*2 {
		var keys []string
		if keys, err = t.List(ctx, bucket, "bench/"); err == nil {
			var errs []error
			for _, k := range keys {
				errs = append(errs, t.Delete(ctx, bucket, k))
			}
			if err = errors.Join(errs...); err == nil && len(keys) == 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	if err != nil || !created {
		return err
	}
	return t.DeleteBucket(ctx, bucket)
}

// FormatSize prints 4KiB, 1MiB, 64MiB or plain bytes.
func FormatSize(n int64) string { return cliflag.FormatSize(n) }
