package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/granary-store/granary/gateway"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
)

// TestUnknownKeysAreCachedNegatively: requests signed with an access key
// the cluster does not know are refused, and only the first of them asks
// the master. The gateway reaches the real master through a counting
// proxy.
func TestUnknownKeysAreCachedNegatively(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 1, ChunkServers: 1, ChunkSize: 256 << 10})
	target, err := url.Parse("http://" + c.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	var lookups atomic.Int32
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, proto.RouteIdentity+"/") {
			lookups.Add(1)
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.DefaultConfig()
	cfg.Masters, cfg.ClusterSecret, cfg.Listener = []string{strings.TrimPrefix(proxy.URL, "http://")}, testcluster.Secret, ln
	cfg.RootAccessKey, cfg.RootSecretKey = rootAccess, rootSecret
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for i := range 20 {
		status, e := send(t, newReq(t, "GET", "http://"+gw.Addr()+"/", nil), "GRNOSUCHKEY42", "whatever-secret-0123456789", true)
		if status != 403 || e.Code != "InvalidAccessKeyId" {
			t.Fatalf("request %d with an unknown key: %d %s", i, status, e.Code)
		}
	}
	if n := lookups.Load(); n != 1 {
		t.Fatalf("20 requests with one unknown key asked the master %d times, want 1", n)
	}
}
