package mount_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/mount"
)

// BenchmarkMount compares, in one run on one cluster, sequential write
// and read through the mount with the client library, and small-file
// create/stat/unlink on the mount with a local directory. Run it once:
//
//	MOUNT_BENCH_MIB=1024 go test -run '^$' -bench Mount -benchtime 1x ./mount/
func BenchmarkMount(b *testing.B) {
	mib := 256
	if s := os.Getenv("MOUNT_BENCH_MIB"); s != "" {
		mib, _ = strconv.Atoi(s)
	}
	size := int64(mib) << 20
	e := startMountOn(b, testcluster.Options{Masters: 1, ChunkServers: 3, ChunkSize: 8 << 20, Replication: 2},
		func(c *mount.Config) { c.ListPage = 1000 })
	ctx := ctxT(b, 30*time.Minute)
	block := randBytes(1<<20, 5)
	src := func() io.Reader { return io.LimitReader(repeatReader{block}, size) }
	rate := func(d time.Duration) float64 { return float64(size) / (1 << 20) / d.Seconds() }
	b.ResetTimer()

	start := time.Now()
	if _, err := e.cl.Put(ctx, "files", "client.bin", src(), size, nil); err != nil {
		b.Fatal(err)
	}
	clientW := rate(time.Since(start))
	start = time.Now()
	r, err := e.cl.Get(ctx, "files", "client.bin")
	if err != nil {
		b.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, r); err != nil || n != size {
		b.Fatal(n, err)
	}
	r.Close()
	clientR := rate(time.Since(start))

	start = time.Now()
	f, err := os.Create(filepath.Join(e.dir, "mount.bin"))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyBuffer(f, src(), make([]byte, 1<<20)); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	mountW := rate(time.Since(start))
	// The client again, after the mount: disk and page cache fill up over
	// the run, and the first writer has them emptier.
	start = time.Now()
	if _, err := e.cl.Put(ctx, "files", "client2.bin", src(), size, nil); err != nil {
		b.Fatal(err)
	}
	clientW2 := rate(time.Since(start))

	start = time.Now()
	f, err = os.Open(filepath.Join(e.dir, "mount.bin"))
	if err != nil {
		b.Fatal(err)
	}
	if n, err := io.CopyBuffer(io.Discard, onlyReader{f}, make([]byte, 1<<20)); err != nil || n != size {
		b.Fatal(n, err)
	}
	f.Close()
	mountR := rate(time.Since(start))

	const small = 300
	local := b.TempDir()
	smallOps := func(root string) (create, stat, unlink float64) {
		os.Mkdir(filepath.Join(root, "small"), 0o755)
		name := func(i int) string { return filepath.Join(root, "small", fmt.Sprintf("f%04d", i)) }
		payload := bytes.Repeat([]byte("s"), 100)
		start := time.Now()
		for i := range small {
			if err := os.WriteFile(name(i), payload, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		create = small / time.Since(start).Seconds()
		start = time.Now()
		for i := range small {
			if _, err := os.Stat(name(i)); err != nil {
				b.Fatal(err)
			}
		}
		stat = small / time.Since(start).Seconds()
		start = time.Now()
		for i := range small {
			if err := os.Remove(name(i)); err != nil {
				b.Fatal(err)
			}
		}
		unlink = small / time.Since(start).Seconds()
		return
	}
	lc, ls, lu := smallOps(local)
	mc, ms, mu := smallOps(e.dir)
	b.StopTimer()
	b.ReportMetric(clientW, "client-write-MiB/s")
	b.ReportMetric(mountW, "mount-write-MiB/s")
	b.ReportMetric(clientR, "client-read-MiB/s")
	b.ReportMetric(mountR, "mount-read-MiB/s")
	b.ReportMetric(mc, "mount-create/s")
	b.ReportMetric(ms, "mount-stat/s")
	b.ReportMetric(mu, "mount-unlink/s")
	b.Logf("%d MiB: write client %.0f MiB/s before the mount and %.0f after, mount %.0f MiB/s (%.2fx of their mean); read client %.0f MiB/s, mount %.0f MiB/s (%.2fx)",
		mib, clientW, clientW2, mountW, 2*mountW/(clientW+clientW2), clientR, mountR, mountR/clientR)
	b.Logf("%d small files: create %.0f/s vs local %.0f/s; stat %.0f/s vs %.0f/s; unlink %.0f/s vs %.0f/s", small, mc, lc, ms, ls, mu, lu)
}

// repeatReader repeats one block forever.
type repeatReader struct{ block []byte }

func (r repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], r.block)
	}
	return n, nil
}

// onlyReader hides WriteTo/ReadFrom so copies go through Read.
type onlyReader struct{ io.Reader }
