package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	code := func(args ...string) int {
		var out bytes.Buffer
		return run(context.Background(), append([]string{"healthcheck"}, args...), &env{stdout: &out, stderr: &out, getenv: func(string) string { return "" }})
	}
	if got := code(srv.URL + "/v1/health"); got != 0 {
		t.Fatalf("healthy endpoint: exit %d", got)
	}
	status.Store(http.StatusServiceUnavailable)
	if got := code(srv.URL + "/v1/health"); got != 1 {
		t.Fatalf("503: exit %d, want 1", got)
	}
	srv.Close()
	if got := code(srv.URL); got != 1 {
		t.Fatalf("nothing listening: exit %d, want 1", got)
	}
	for _, bad := range [][]string{{}, {"ftp://x/"}, {"not a url"}, {"--timeout", "0s", "http://127.0.0.1:1/"}, {"http://a/", "http://b/"}} {
		if got := code(bad...); got != 2 {
			t.Errorf("healthcheck %q: exit %d, want 2 (usage)", bad, got)
		}
	}
}
