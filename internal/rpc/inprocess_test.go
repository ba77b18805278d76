package rpc

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/reqid"
)

// TestInProcessCalls: a call to an address served in process reaches the
// handler as a server would hand it on (path and query, RemoteAddr, the
// caller's request id, the body) and comes back with its status, header
// and body; the credential is checked as on the network; a call to any
// other address still goes over the network.
func TestInProcessCalls(t *testing.T) {
	cfg := Config{Secret: "s3cret"}
	var seen *http.Request
	var body string
	h := cfg.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.Header().Set("X-Answer", "yes")
		WriteJSON(w, http.StatusCreated, map[string]string{"got": r.URL.Query().Get("q")})
		w.Header().Set("X-Late", "after the answer began") // a server would not send it
	}))
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Remote", r.RemoteAddr)
	}))
	defer remote.Close()
	remoteAddr := strings.TrimPrefix(remote.URL, "http://")

	hc := NewClient(cfg, ClientOptions{InProcess: map[string]http.Handler{"master:9333": h}})
	ctx := reqid.With(context.Background(), "REQ1")
	req, err := cfg.NewRequest(ctx, http.MethodPost, "master:9333", "/v1/x?q=7", strings.NewReader("payload"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || strings.TrimSpace(string(got)) != `{"got":"7"}` ||
		resp.Header.Get("X-Answer") != "yes" || resp.Header.Get("X-Late") != "" || resp.ContentLength != int64(len(got)) {
		t.Fatalf("answer %d %q, header %v, length %d", resp.StatusCode, got, resp.Header, resp.ContentLength)
	}
	if seen == nil || seen.RemoteAddr != InProcessAddr || seen.RequestURI != "/v1/x?q=7" || seen.Host != "master:9333" ||
		reqid.From(seen.Context()) != "REQ1" || body != "payload" {
		t.Fatalf("handler saw %+v with body %q", seen, body)
	}

	// The wrong credential is refused in process as on the network.
	bad := Config{Secret: "wrong"}
	req, _ = bad.NewRequest(context.Background(), http.MethodGet, "master:9333", "/v1/x", nil)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	perr := proto.ErrorFromResponse(resp)
	resp.Body.Close()
	var pe *proto.Error
	if !errors.As(perr, &pe) || pe.Code != proto.CodeUnauthorized || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong secret in process: %d %v", resp.StatusCode, perr)
	}

	// Another address is called over the network.
	req, _ = cfg.NewRequest(context.Background(), http.MethodGet, remoteAddr, "/", nil)
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if a := resp.Header.Get("X-Remote"); a == "" || a == InProcessAddr {
		t.Fatalf("remote call answered from %q", a)
	}
}

// TestInProcessFailures: a handler that panics fails the call, not the
// process; a call whose context ends while the handler runs fails with
// the context's error; an answer without a write is an empty 200 and a
// 204 takes no body.
func TestInProcessFailures(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rt := InProcess(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/panic":
			panic("boom")
		case "/cancel":
			cancel()
			<-r.Context().Done()
			w.WriteHeader(http.StatusOK)
		case "/nocontent":
			w.WriteHeader(http.StatusNoContent)
			if _, err := w.Write([]byte("x")); !errors.Is(err, http.ErrBodyNotAllowed) {
				t.Errorf("body on 204: %v", err)
			}
		}
	}))
	do := func(ctx context.Context, path string) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://m"+path, nil)
		return rt.RoundTrip(req)
	}
	if _, err := do(context.Background(), "/panic"); err == nil || !strings.Contains(err.Error(), "panicked: boom") {
		t.Fatalf("panic: %v", err)
	}
	if _, err := do(ctx, "/cancel"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	resp, err := do(context.Background(), "/none")
	if err != nil || resp.StatusCode != http.StatusOK || resp.ContentLength != 0 {
		t.Fatalf("nothing written: %v %v", resp, err)
	}
	resp, err = do(context.Background(), "/nocontent")
	if err != nil || resp.StatusCode != http.StatusNoContent || resp.ContentLength != 0 {
		t.Fatalf("204: %v %v", resp, err)
	}
}
