package bench

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// flaky is an in-memory Target that fails every third operation. It is a
// fake on purpose: the runner's bookkeeping is under test, not a store.
type flaky struct {
	mu      sync.Mutex
	objects map[string][]byte
	n       atomic.Int64
	buckets map[string]bool
}

func (f *flaky) fail() error {
	if f.n.Add(1)%3 == 0 {
		return errors.New("injected failure")
	}
	return nil
}

func (f *flaky) Name() string { return "flaky" }
func (f *flaky) EnsureBucket(_ context.Context, b string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	created := !f.buckets[b]
	f.buckets[b] = true
	return created, nil
}
func (f *flaky) Put(_ context.Context, _, k string, d []byte) error {
	if strings.HasPrefix(k, "bench/pre/") { // prefill always works
		f.mu.Lock()
		f.objects[k] = d
		f.mu.Unlock()
		return nil
	}
	if err := f.fail(); err != nil {
		return err
	}
	f.mu.Lock()
	f.objects[k] = d
	f.mu.Unlock()
	return nil
}
func (f *flaky) Get(_ context.Context, _, k string) (int64, error) {
	if err := f.fail(); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return int64(len(f.objects[k])), nil
}
func (f *flaky) List(_ context.Context, _, prefix string) ([]string, error) {
	f.mu.Lock()
	var keys []string
	for k := range f.objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	f.mu.Unlock()
	return keys, f.fail()
}
func (f *flaky) Delete(_ context.Context, _, k string) error {
	f.mu.Lock()
	delete(f.objects, k)
	f.mu.Unlock()
	return nil
}
func (f *flaky) DeleteBucket(_ context.Context, b string) error {
	f.mu.Lock()
	delete(f.buckets, b)
	f.mu.Unlock()
	return nil
}

func TestRunCountsErrorsAndCleansUp(t *testing.T) {
	for _, op := range Ops {
		t.Run(op, func(t *testing.T) {
			f := &flaky{objects: map[string][]byte{}, buckets: map[string]bool{}}
			cfg := Config{Op: op, Size: 1024, Concurrency: 4, Duration: 200 * time.Millisecond, Bucket: "b", Objects: 50}
			rep, err := Run(context.Background(), f, cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			s := rep.Summary
			if s.Ops == 0 {
				t.Fatalf("no operations: %+v", s)
			}
			if op != "delete" && (s.Errors == 0 || s.ErrorKinds["injected failure"] != s.Errors) {
				t.Fatalf("injected failures not counted: %+v", s)
			}
			if op == "list" && s.Items == 0 {
				t.Fatal("listing counted no keys")
			}
			if !rep.Cleaned || len(f.objects) != 0 || f.buckets["b"] {
				t.Fatalf("cleanup left %d objects, bucket %v", len(f.objects), f.buckets["b"])
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	good := Config{Op: "put", Size: 1, Concurrency: 1, Duration: time.Second, Bucket: "b"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(*Config){
		func(c *Config) { c.Op = "upload" }, func(c *Config) { c.Size = -1 },
		func(c *Config) { c.Concurrency = 0 }, func(c *Config) { c.Duration = 0 },
		func(c *Config) { c.Bucket = "" }, func(c *Config) { c.Objects = -3 },
	} {
		c := good
		bad(&c)
		if c.Validate() == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}
