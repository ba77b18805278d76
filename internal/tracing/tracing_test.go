package tracing_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/granary-store/granary/internal/tracing"
)

// TestOff: without Install nothing is traced and the helpers do nothing.
func TestOff(t *testing.T) {
	if tracing.On() || tracing.Active(context.Background()) {
		t.Fatal("tracing on without Start")
	}
	h := http.Header{}
	ctx, end := tracing.StartServer(context.Background(), h, "master", "GET", "/x", true)
	if end != nil || ctx != context.Background() {
		t.Fatal("server span started with tracing off")
	}
	if _, end := tracing.StartClient(ctx, "GET", "h:1", "/x"); end != nil {
		t.Fatal("client span started with tracing off")
	}
	tracing.Inject(ctx, h)
	if len(h) != 0 {
		t.Fatalf("headers set with tracing off: %v", h)
	}
}

func TestRoute(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/chunk/123":        "/v1/chunk/{id}",
		"/v1/chunk/123/stat":   "/v1/chunk/{id}/stat",
		"/v1/objects/commit":   "/v1/objects/commit",
		"/v1/buckets/b1":       "/v1/buckets/b1",
		"/":                    "/",
		"/v1/chunkservers/cs1": "/v1/chunkservers/cs1",
	} {
		if got := tracing.Route(in); got != want {
			t.Errorf("Route(%q) = %q, want %q", in, got, want)
		}
	}
}
