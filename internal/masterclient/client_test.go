package masterclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// A member that accepts connections but never answers (a paused or
// partitioned process) costs one attempt: the call moves on to a member
// that answers, and later calls start there instead of waiting again.
func TestSilentMemberCostsOneAttempt(t *testing.T) {
	var silentHits, liveHits atomic.Int32
	release := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		silentHits.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer silent.Close()
	defer close(release)
	live := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		liveHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"leader":"m2"}`))
	}))
	defer live.Close()
	c, err := New([]string{strings.TrimPrefix(silent.URL, "http://"), strings.TrimPrefix(live.URL, "http://")}, "secret")
	if err != nil {
		t.Fatal(err)
	}
	c.AttemptTimeout = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // well below the HTTP client's 30 s
	defer cancel()
	for i := range 5 {
		var st proto.Status
		if err := c.Call(ctx, http.MethodGet, proto.RouteStatus, nil, nil, &st); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if st.Leader != "m2" {
			t.Fatalf("call %d: answer %+v", i, st)
		}
	}
	if got := silentHits.Load(); got != 1 {
		t.Fatalf("the silent member got %d attempts, want exactly 1", got)
	}
	if got := liveHits.Load(); got != 5 {
		t.Fatalf("the live member answered %d calls, want 5", got)
	}
}
