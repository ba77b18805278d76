package rpc

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/reqid"
	"github.com/granary-store/granary/internal/syncbuf"
)

// TestRequestIDTravels: a call made with an id in its context arrives
// with the id in the server's request context, through a second hop as
// well (the server calls on with its request's context); a call without
// one arrives without; an id already in the header is kept.
func TestRequestIDTravels(t *testing.T) {
	cfg := Config{Secret: "s"}
	hc := NewClient(cfg, ClientOptions{ResponseHeaderTimeout: 5 * time.Second})
	defer hc.CloseIdleConnections()
	seen := make(chan string, 1)
	last := httptest.NewServer(cfg.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- reqid.From(r.Context())
	})))
	defer last.Close()
	first := httptest.NewServer(cfg.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := cfg.NewRequest(r.Context(), http.MethodGet, strings.TrimPrefix(last.URL, "http://"), "/next", nil)
		if err != nil {
			t.Error(err)
			return
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
	})))
	defer first.Close()
	call := func(ctx context.Context, header string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		req, err := cfg.NewRequest(ctx, http.MethodGet, strings.TrimPrefix(first.URL, "http://"), "/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		if header != "" {
			req.Header.Set(reqid.Header, header)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if req.Header.Get(reqid.Header) != header {
			t.Fatalf("the client changed the caller's request header: %q", req.Header.Get(reqid.Header))
		}
		return <-seen
	}
	if got := call(reqid.With(context.Background(), "17A2C0FFEE00BEEF"), ""); got != "17A2C0FFEE00BEEF" {
		t.Errorf("id after two hops %q, want 17A2C0FFEE00BEEF", got)
	}
	if got := call(context.Background(), ""); got != "" {
		t.Errorf("call without an id arrived with %q", got)
	}
	if got := call(reqid.With(context.Background(), "FROM-CONTEXT"), "FROM-HEADER"); got != "FROM-HEADER" {
		t.Errorf("header id replaced: %q", got)
	}
	if got := call(context.Background(), "bad id level=ERROR"); got != "" {
		t.Errorf("invalid id accepted: %q", got)
	}
}

// TestAuthenticateRefusesBeforeID: a call without the secret is refused
// whatever id it carries, and the handler never runs.
func TestAuthenticateRefusesBeforeID(t *testing.T) {
	ran := false
	h := Config{Secret: "s"}.Authenticate(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true }))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set(reqid.Header, "R1")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if ran || w.Code != http.StatusUnauthorized {
		t.Fatalf("ran %v, status %d", ran, w.Code)
	}
}

// TestTraceLogs: one Debug line per call with status, bytes and the id;
// the handler's own lines through reqid.Logger carry the id; at Info
// nothing is written and the handler sees the writer it was given.
func TestTraceLogs(t *testing.T) {
	var logs syncbuf.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var unwrapped bool
	h := Trace("test", logger, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqid.Logger(r.Context(), logger).Warn("handler line")
		if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("ResponseController through the log writer: %v", err)
		}
		_, unwrapped = w.(*statusWriter)
		w.WriteHeader(http.StatusCreated)
		io.Copy(w, strings.NewReader("hello"))
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/v1/chunks/7?secret=x", nil)
	req.Header.Set(reqid.Header, "ABC")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	out := logs.String()
	for _, want := range []string{
		`level=WARN msg="handler line" request_id=ABC`,
		`level=DEBUG msg="call served" method=PUT path=/v1/chunks/7 status=201 bytes=5 duration=`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasSuffix(strings.TrimSpace(out), "request_id=ABC") || strings.Contains(out, "secret=x") {
		t.Errorf("call line without the id, or with the query:\n%s", out)
	}
	if !unwrapped {
		t.Error("handler did not get the recording writer at Debug")
	}

	var quiet syncbuf.Buffer
	logger = slog.New(slog.NewTextHandler(&quiet, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h = Trace("test", logger, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, wrapped := w.(*statusWriter); wrapped {
			t.Error("writer wrapped although Debug is off")
		}
		if reqid.From(r.Context()) != "ABC" {
			t.Error("id not in the context at Info")
		}
	}))
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set(reqid.Header, "ABC")
	h.ServeHTTP(w, r)
	if quiet.String() != "" {
		t.Errorf("logged at Info: %s", quiet.String())
	}
}

// BenchmarkCall measures one small call over loopback without a request
// id, with one, and with one and Debug call logging on the server: what
// request ids cost each call an S3 request causes.
func BenchmarkCall(b *testing.B) {
	cfg := Config{Secret: "s"}
	for _, bc := range []struct {
		name  string
		id    string
		debug bool
	}{{"plain", "", false}, {"id", "17A2C0FFEE00BEEF", false}, {"id+debug-log", "17A2C0FFEE00BEEF", true}} {
		b.Run(bc.name, func(b *testing.B) {
			level := slog.LevelInfo
			if bc.debug {
				level = slog.LevelDebug
			}
			logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: level}))
			srv := httptest.NewServer(Trace("bench", logger, cfg.Authenticate(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				io.WriteString(w, "ok")
			}))))
			defer srv.Close()
			hc := NewClient(cfg, ClientOptions{})
			defer hc.CloseIdleConnections()
			ctx := reqid.With(context.Background(), bc.id)
			addr := strings.TrimPrefix(srv.URL, "http://")
			b.ResetTimer()
			for b.Loop() {
				req, _ := cfg.NewRequest(ctx, http.MethodGet, addr, "/x", nil)
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
