package chaos

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// repoRoot is the repository root (this package is internal/chaos).
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root, err := filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// seed is CHAOS_SEED when set (to replay a run), else a fresh one.
func seed(t *testing.T) uint64 {
	t.Helper()
	if v := os.Getenv("CHAOS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CHAOS_SEED=%q: %v", v, err)
		}
		return s
	}
	return uint64(time.Now().UnixNano() % 1_000_000_007)
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// newS3 returns a minio-go client for endpoint and creates the bucket,
// retrying while the cluster settles.
func newS3(t *testing.T, ctx context.Context, endpoint string, tlsCfg *tls.Config, access, secret, bucket string) *minio.Client {
	t.Helper()
	opts := &minio.Options{Creds: credentials.NewStaticV4(access, secret, ""), Region: "us-east-1"}
	if tlsCfg != nil { // HTTPS, trusting the cluster CA
		tr, err := minio.DefaultTransport(true)
		if err != nil {
			t.Fatal(err)
		}
		tr.TLSClientConfig = tlsCfg
		opts.Secure, opts.Transport = true, tr
	}
	mc, err := minio.New(endpoint, opts)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := mc.MakeBucket(cctx, bucket, minio.MakeBucketOptions{})
		cancel()
		if err == nil {
			return mc
		}
		if time.Now().After(deadline) {
			t.Fatalf("create bucket %s: %v", bucket, err)
		}
		sleepCtx(ctx, 500*time.Millisecond)
	}
}

// finish writes the report next to the build output, logs it and fails
// the test when the run failed.
func finish(t *testing.T, rep *Report, name string) {
	t.Helper()
	var b strings.Builder
	rep.Write(&b)
	dir := filepath.Join(repoRoot(t), "bin", "chaos")
	path := filepath.Join(dir, fmt.Sprintf("report-%s-%d.txt", name, rep.Seed))
	if err := os.MkdirAll(dir, 0o755); err == nil {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Logf("write report: %v", err)
		}
	}
	t.Logf("report (also in %s):\n%s", path, b.String())
	if !rep.Passed() {
		if rep.Lin.Result == "Illegal" {
			html := strings.TrimSuffix(path, ".txt") + ".html"
			if err := rep.Lin.Visualize(html); err == nil {
				t.Logf("porcupine's view of the history: %s", html)
			}
		}
		t.Errorf("fault test failed with seed %d (replay: CHAOS_SEED=%d)", rep.Seed, rep.Seed)
	}
}

func TestCheckLinearizable(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	put := func(c int, v string, s, e int) Op {
		return Op{Client: c, Kind: KindPut, Key: "k", Value: v, Start: ms(s), End: ms(e)}
	}
	get := func(c int, v string, s, e int) Op {
		return Op{Client: c, Kind: KindGet, Key: "k", Value: v, Start: ms(s), End: ms(e)}
	}
	del := func(c int, s, e int) Op { return Op{Client: c, Kind: KindDelete, Key: "k", Start: ms(s), End: ms(e)} }
	failed := func(op Op) Op { op.Err = "timeout"; return op }
	cases := []struct {
		name string
		ops  []Op
		want string
	}{
		{"sequential", []Op{put(0, "a", 0, 1), get(1, "a", 2, 3), del(0, 4, 5), get(1, "", 6, 7)}, "Ok"},
		{"concurrent read sees either", []Op{put(0, "a", 0, 10), get(1, "", 1, 2), get(2, "a", 3, 4)}, "Ok"},
		{"lost acknowledged write", []Op{put(0, "a", 0, 1), get(1, "", 2, 3)}, "Illegal"},
		{"stale read", []Op{put(0, "a", 0, 1), put(0, "b", 2, 3), get(1, "a", 4, 5)}, "Illegal"},
		{"value from nowhere", []Op{put(0, "a", 0, 1), get(1, "z", 2, 3)}, "Illegal"},
		{"acknowledged delete undone", []Op{put(0, "a", 0, 1), del(0, 2, 3), get(1, "a", 4, 5)}, "Illegal"},
		{"failed put applied late", []Op{failed(put(0, "a", 0, 1)), get(1, "", 2, 3), get(1, "a", 10, 11)}, "Ok"},
		{"failed put never applied", []Op{put(0, "a", 0, 1), failed(put(0, "b", 2, 3)), get(1, "a", 10, 11)}, "Ok"},
		{"failed delete applied late", []Op{put(0, "a", 0, 1), failed(del(0, 2, 3)), get(1, "a", 4, 5), get(1, "", 6, 7)}, "Ok"},
		{"failed put cannot apply before it starts", []Op{get(1, "b", 0, 1), failed(put(0, "b", 2, 3))}, "Illegal"},
		{"list observation", []Op{put(0, "a", 0, 1), {Client: 1, Kind: KindList, Key: "k", Value: "", Start: ms(2), End: ms(3)}}, "Illegal"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := CheckLinearizable(tc.ops, 10*time.Second)
			if string(res.Result) != tc.want {
				t.Fatalf("got %s, want %s", res.Result, tc.want)
			}
		})
	}
}

func TestWindowGaps(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	ops := []Op{
		{Kind: KindPut, End: ms(100)},
		{Kind: KindGet, End: ms(150)},
		{Kind: KindPut, End: ms(200), Err: "503"},
		{Kind: KindPut, End: ms(900)},
		{Kind: KindGet, End: ms(400)},
		{Kind: KindGet, End: ms(500), Err: "timeout"},
	}
	n, failed, failedReads, wgap, rgap := window(ops, ms(0), ms(1000))
	if n != 6 || failed != 2 || failedReads != 1 || wgap != ms(800) || rgap != ms(600) {
		t.Fatalf("window: n=%d failed=%d (reads %d) write gap %v read gap %v", n, failed, failedReads, wgap, rgap)
	}
}
