package masterclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
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

// Every attempt of one change the master deduplicates carries the same
// request id, so the master can apply it at most once; separate calls get
// separate ids, and reads carry none.
func TestRetriesCarryOneRequestID(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	var attempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ids = append(ids, r.Method+" "+r.Header.Get(proto.HeaderRequestID))
		mu.Unlock()
		if r.Method == http.MethodPost && attempts.Add(1) <= 2 { // the first two attempts fail retryably
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"code":"Unavailable","message":"try again","retryable":true}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	c, err := New([]string{strings.TrimPrefix(srv.URL, "http://")}, "secret")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Delete(ctx, "bk", "k"); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "bk", "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat(ctx, "bk", "k"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ids) != 5 {
		t.Fatalf("requests %q, want 3 attempts of the first delete, 1 of the second, 1 stat", ids)
	}
	first := strings.TrimPrefix(ids[0], "POST ")
	if _, err := proto.ParseRequestID(first); err != nil {
		t.Fatalf("first attempt: %v", err)
	}
	if ids[1] != ids[0] || ids[2] != ids[0] {
		t.Errorf("retries of one call carried %q, %q, %q; want one id", ids[0], ids[1], ids[2])
	}
	if ids[3] == ids[0] || !strings.HasPrefix(ids[3], "POST ") || len(ids[3]) == len("POST ") {
		t.Errorf("a second call reused or lacked an id: %q after %q", ids[3], ids[0])
	}
	if ids[4] != "GET " {
		t.Errorf("a read carried an id: %q", ids[4])
	}
}
