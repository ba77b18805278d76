package mount_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/granary-store/granary/mount"
)

// gauge reads one sample of the mount's metrics.
func gauge(t *testing.T, srv *mount.Server, name string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	srv.Metrics().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` ([0-9.e+]+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no %s in\n%s", name, body)
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// TestMountInodeCap: stat-ing more files than the inode cap leaves the
// table at the cap (the kernel is told to forget the coldest entries), and
// the heap does not grow with the number of files.
func TestMountInodeCap(t *testing.T) {
	const files, capInodes = 1500, 300
	e := startMount(t, func(c *mount.Config) { c.MaxInodes = capInodes; c.ListPage = 1000 })
	ctx := ctxT(t, 2*time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, files)
	sem := make(chan struct{}, 16)
	for i := range files {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := e.cl.Put(ctx, "files", fmt.Sprintf("many/%05d", i), bytes.NewReader([]byte("x")), 1, nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	dir := filepath.Join(e.dir, "many")
	des, err := os.ReadDir(dir)
	if err != nil || len(des) != files {
		t.Fatalf("readdir: %d entries, %v", len(des), err)
	}
	before := heap()
	for round := range 2 {
		for i := range files {
			if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("%05d", i))); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
	waitFor(t, "the inode table back under its cap", func() bool {
		return gauge(t, e.srv, "granary_mount_inodes") <= capInodes
	})
	after := heap()
	if after > before+32<<20 {
		t.Errorf("heap grew from %d to %d KiB", before>>10, after>>10)
	}
	t.Logf("inodes %v (cap %d) after stat of %d files twice; evictions %v; heap %d -> %d KiB",
		gauge(t, e.srv, "granary_mount_inodes"), capInodes, files, gauge(t, e.srv, "granary_mount_inode_evictions_total"), before>>10, after>>10)
}
