package gateway_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
)

// startReporting starts a cluster and a gateway that reports every
// 100 ms; hang, when set, runs on the gateway before it serves.
func startReporting(t *testing.T, hang func(*gateway.Server)) (*testcluster.Cluster, *minio.Client, string) {
	t.Helper()
	c := testcluster.Start(t, testcluster.Options{Masters: 1, ChunkServers: 3, ChunkSize: 256 << 10})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.DefaultConfig()
	cfg.Masters, cfg.ClusterSecret, cfg.Listener = c.Addrs(), testcluster.Secret, ln
	cfg.RootAccessKey, cfg.RootSecretKey = rootAccess, rootSecret
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.ReportInterval = 100 * time.Millisecond
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if hang != nil {
		hang(gw)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	mc, err := minio.New(gw.Addr(), &minio.Options{Creds: credentials.NewStaticV4(rootAccess, rootSecret, ""), Secure: false})
	if err != nil {
		t.Fatal(err)
	}
	return c, mc, gw.Addr()
}

// TestReportsReachTheLeader checks that the leader learns a gateway's
// traffic by operation and status class from its reports, and that the
// report carries the same numbers as the gateway's Prometheus counters.
func TestReportsReachTheLeader(t *testing.T) {
	c, mc, addr := startReporting(t, nil)
	ctx := ctxT(t, time.Minute)
	if err := mc.MakeBucket(ctx, "traffic", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("x"), 1000)
	for _, k := range []string{"a", "b", "c"} {
		if _, err := mc.PutObject(ctx, "traffic", k, bytes.NewReader(payload), int64(len(payload)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := mc.StatObject(ctx, "traffic", "a", minio.StatObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mc.StatObject(ctx, "traffic", "missing", minio.StatObjectOptions{}); err == nil {
		t.Fatal("stat of a missing key succeeded")
	}
	admin, err := client.NewAdmin(client.Config{Masters: c.Addrs(), Secret: testcluster.Secret})
	if err != nil {
		t.Fatal(err)
	}
	var last []client.Gateway
	c.WaitFor(20*time.Second, "the report matches the gateway's counters", func() bool {
		gs, err := admin.Gateways(ctx)
		if err != nil || len(gs) != 1 {
			last = gs
			return false
		}
		last = gs
		fams := scrapeS3(t, addr)
		var want, got int64
		for _, m := range fams["granary_s3_requests_total"].GetMetric() {
			want += int64(m.GetCounter().GetValue())
		}
		for _, tr := range gs[0].Traffic {
			for _, n := range tr.Requests {
				got += n
			}
		}
		return want == got && want > 0
	})
	g := last[0]
	if g.Address != addr || g.ID == "" || g.Started.IsZero() || g.LastReportAgeMs > 10000 {
		t.Errorf("gateway: %+v", g)
	}
	by := map[string]proto.S3Traffic{}
	for _, tr := range g.Traffic {
		by[tr.Class] = tr
	}
	if w := by[proto.S3ClassWrite]; w.Requests["2xx"] < 4 || w.BytesIn < 3000 { // the bucket and three puts
		t.Errorf("writes: %+v", w)
	}
	if r := by[proto.S3ClassRead]; r.Requests["2xx"] < 2 || r.Requests["4xx"] < 1 {
		t.Errorf("reads: %+v", r)
	}
}

// TestS3ServesWhileReportsHang checks that a gateway whose reports cannot
// reach the master (each attempt hangs until its deadline) serves S3 as
// usual, and keeps trying.
func TestS3ServesWhileReportsHang(t *testing.T) {
	var attempts func() int64
	_, mc, _ := startReporting(t, func(s *gateway.Server) { attempts = gateway.HangReports(s) })
	ctx := ctxT(t, time.Minute)
	if err := mc.MakeBucket(ctx, "hang", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("y"), 4096)
	start := time.Now()
	for i := range 20 {
		octx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := mc.PutObject(octx, "hang", "k", bytes.NewReader(payload), int64(len(payload)), minio.PutObjectOptions{})
		if err == nil {
			var o *minio.Object
			if o, err = mc.GetObject(octx, "hang", "k", minio.GetObjectOptions{}); err == nil {
				var got []byte
				got, err = io.ReadAll(o)
				if err == nil && !bytes.Equal(got, payload) {
					t.Fatalf("request %d: read back %d bytes", i, len(got))
				}
			}
		}
		cancel()
		if err != nil {
			t.Fatalf("request %d while reports hang: %v", i, err)
		}
	}
	if n := attempts(); n < 1 {
		t.Errorf("%d report attempts in %v", n, time.Since(start))
	}
}
