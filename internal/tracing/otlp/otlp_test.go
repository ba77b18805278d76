package otlp_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/granary-store/granary/gateway"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/internal/tracing"
	"github.com/granary-store/granary/internal/tracing/otlp"
)

// receiver is an OTLP/HTTP trace receiver: it decodes every export
// request and keeps the spans with their service name.
type receiver struct {
	mu      sync.Mutex
	spans   []span
	exports int
}

type span struct {
	service          string
	trace, id, paren string
	name             string
	kind             tracepb.Span_SpanKind
	attrs            map[string]string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/traces" || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "want POST /v1/traces in protobuf", http.StatusBadRequest)
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.exports++
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				attrs := map[string]string{}
				for _, a := range s.Attributes {
					attrs[a.Key] = a.GetValue().GetStringValue()
				}
				rc.spans = append(rc.spans, span{service: service, trace: hex.EncodeToString(s.TraceId), id: hex.EncodeToString(s.SpanId),
					paren: hex.EncodeToString(s.ParentSpanId), name: s.Name, kind: s.Kind, attrs: attrs})
			}
		}
	}
	rc.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

func (rc *receiver) all() []span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]span(nil), rc.spans...)
}

const (
	rootAccess = "GRTESTROOTKEY0001"
	rootSecret = "test-root-secret-key-0123456789abcdef"
)

// TestSpansAcrossProcesses: with tracing on, an S3 PUT and GET through a
// gateway in front of an in-process cluster arrive at an OTLP/HTTP
// receiver as traces whose gateway span is the root and whose master and
// chunk-server spans (every server of the write pipeline) hang under it
// with one trace id; the background calls between the processes
// (heartbeats, commands) start no trace of their own.
func TestSpansAcrossProcesses(t *testing.T) {
	rc := &receiver{}
	sink := httptest.NewServer(rc)
	defer sink.Close()
	stop, err := otlp.Start(otlp.Config{Endpoint: strings.TrimPrefix(sink.URL, "http://"), Service: "granary-test",
		Sample: 1, BatchTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			stop(context.Background())
		}
	}()
	c := testcluster.Start(t, testcluster.Options{Masters: 1, ChunkServers: 3, ChunkSize: 256 << 10})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.DefaultConfig()
	cfg.Masters, cfg.ClusterSecret, cfg.Listener = c.Addrs(), testcluster.Secret, ln
	cfg.RootAccessKey, cfg.RootSecretKey = rootAccess, rootSecret
	cfg.Logger = slog.New(slog.DiscardHandler)
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	gwCtx, gwCancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- gw.Run(gwCtx) }()
	defer func() { gwCancel(); <-done }()
	mc, err := minio.New(gw.Addr(), &minio.Options{Creds: credentials.NewStaticV4(rootAccess, rootSecret, "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.MakeBucket(ctx, "traced", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 40<<10) // 640 KiB: three chunks
	send := func(method, u string, in io.Reader) string {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, method, u, in)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s: %s", method, resp.Status, got)
		}
		if method == http.MethodGet && !bytes.Equal(got, body) {
			t.Fatalf("GET returned %d bytes, want %d", len(got), len(body))
		}
		return resp.Header.Get("x-amz-request-id")
	}
	putURL, _ := mc.PresignedPutObject(ctx, "traced", "obj", time.Minute)
	putID := send(http.MethodPut, putURL.String(), bytes.NewReader(body))
	getURL, _ := mc.PresignedGetObject(ctx, "traced", "obj", time.Minute, nil)
	getID := send(http.MethodGet, getURL.String(), nil)

	stopped = true
	if err := stop(ctx); err != nil { // flushes every span ended so far
		t.Fatal(err)
	}
	spans := rc.all()
	t.Cleanup(func() {
		if t.Failed() {
			for _, s := range spans {
				t.Logf("%s %s parent %s %s %v %v", s.trace, s.id, s.paren, s.name, s.kind, s.attrs)
			}
		}
	})
	byID := map[string]span{}
	roots := map[string]span{} // trace id -> its root span
	for _, s := range spans {
		byID[s.id] = s
		if s.paren == "" {
			if _, dup := roots[s.trace]; dup {
				t.Errorf("trace %s has two roots", s.trace)
			}
			roots[s.trace] = s
		}
		if s.service != "granary-test" {
			t.Errorf("span %q of service %q", s.name, s.service)
		}
	}
	for trace, root := range roots {
		if root.kind != tracepb.Span_SPAN_KIND_SERVER || root.attrs["granary.component"] != "gateway" {
			t.Errorf("trace %s starts at %q (%v %v), not at an S3 request", trace, root.name, root.kind, root.attrs)
		}
	}
	for _, want := range []struct {
		id        string
		op        string
		chunkPuts int
		chunkGets int
	}{{putID, "PUT", 9, 0}, {getID, "GET", 0, 3}} {
		var root span
		for _, r := range roots {
			if r.attrs["granary.request_id"] == want.id {
				root = r
			}
		}
		if root.id == "" {
			t.Fatalf("no gateway span with request id %s", want.id)
		}
		var master, puts, gets int
		for _, s := range spans {
			if s.trace != root.trace || s.kind != tracepb.Span_SPAN_KIND_SERVER || s.id == root.id {
				continue
			}
			parent, ok := byID[s.paren]
			if !ok || parent.kind != tracepb.Span_SPAN_KIND_CLIENT || parent.trace != root.trace {
				t.Errorf("server span %q has no client span of its trace as parent", s.name)
			}
			if s.attrs["granary.request_id"] != want.id {
				t.Errorf("server span %q has request id %q, want %s", s.name, s.attrs["granary.request_id"], want.id)
			}
			switch {
			case s.attrs["granary.component"] == "master":
				master++
			case s.attrs["granary.component"] == "chunkserver" && s.name == "chunkserver PUT /v1/chunk/{id}":
				puts++
			case s.attrs["granary.component"] == "chunkserver" && s.name == "chunkserver GET /v1/chunk/{id}":
				gets++
			}
		}
		if master == 0 || puts != want.chunkPuts || gets != want.chunkGets {
			t.Errorf("%s %s: %d master spans, %d chunk writes, %d chunk reads in its trace; want some, %d, %d",
				want.op, want.id, master, puts, gets, want.chunkPuts, want.chunkGets)
		}
	}
}

func TestCheckEndpoint(t *testing.T) {
	for e, ok := range map[string]bool{
		"127.0.0.1:4318": true, "collector:4318": true, "http://collector:4318": true,
		"https://otel.example.com/v1/traces": true, "collector": false, "": false,
		"ftp://collector:21": false, "http://": false,
	} {
		if err := otlp.CheckEndpoint(e); (err == nil) != ok {
			t.Errorf("CheckEndpoint(%q) = %v, want ok %v", e, err, ok)
		}
	}
	if _, err := otlp.Start(otlp.Config{Endpoint: "127.0.0.1:1", Sample: 2}); err == nil {
		t.Error("sample 2 accepted")
	}
}

// TestStartTwice: one process has one span source.
func TestStartTwice(t *testing.T) {
	stop, err := otlp.Start(otlp.Config{Endpoint: "127.0.0.1:1", Sample: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := otlp.Start(otlp.Config{Endpoint: "127.0.0.1:1", Sample: 1}); err == nil {
		t.Error("second Start accepted")
	}
	if !tracing.On() {
		t.Error("tracing off after Start")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	stop(ctx) // nothing to flush: no span was started
	if tracing.On() {
		t.Error("tracing on after stop")
	}
}
