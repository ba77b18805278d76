package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// spanSink is an OTLP/HTTP receiver keeping "service span-name" of every
// span exported to it.
type spanSink struct {
	mu    sync.Mutex
	names []string
}

func (s *spanSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err != nil || r.URL.Path != "/v1/traces" || proto.Unmarshal(raw, &req) != nil {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				service = a.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				s.names = append(s.names, service+" "+sp.Name)
			}
		}
	}
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

func (s *spanSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.names, "\n")
}

// TestServerTracing runs `granary server --otlp-endpoint` (from a config
// file) and puts an object through S3: the gateway's, master's and chunk
// servers' spans reach the receiver, the last of them flushed at SIGTERM.
// The gateway writes the replicas straight into the chunk servers of its
// own process, so theirs are the spans of local writes.
func TestServerTracing(t *testing.T) {
	sink := &spanSink{}
	otlp := httptest.NewServer(sink)
	defer otlp.Close()
	dir := filepath.Join(t.TempDir(), "data")
	web, raftAddr, s3 := freeAddr(t), freeAddr(t), freeAddr(t)
	path := writeConfig(t, "otlp-endpoint: "+strings.TrimPrefix(otlp.URL, "http://")+"\ntrace-sample: 1\n")
	p := start(t, nil, "server", "--config", path, "--dir", dir, "--web-addr", web, "--raft-addr", raftAddr, "--s3-addr", s3, "--no-sync")
	waitUntil(t, 30*time.Second, "the server to say it is serving", func() bool {
		return strings.Contains(p.out.String(), "granary server: S3 on")
	})
	mc := s3Client(t, s3, p.out.String())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := mc.MakeBucket(ctx, "traced", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("traced ", 100_000)
	if _, err := mc.PutObject(ctx, "traced", "obj", strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("server after SIGTERM: %v", err)
	}
	got := sink.String()
	for _, want := range []string{"granary-server gateway PUT /traced/obj", "granary-server master POST /v1/objects/commit", "granary-server chunkserver local write"} {
		if !strings.Contains(got, want) {
			t.Errorf("no span %q among:\n%s", want, got)
		}
	}
}

// TestTraceFlagsRefused: a bad endpoint or sample is a usage error.
func TestTraceFlagsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"gateway", "--otlp-endpoint", "collector"},
		{"gateway", "--otlp-endpoint", "ftp://collector:21"},
		{"chunkserver", "--trace-sample", "1.5"},
		{"master", "--trace-sample", "half"},
	} {
		if _, stderr, code := cli(t, nil, args...); code != 2 || !strings.Contains(stderr, strings.TrimPrefix(args[1], "-")) {
			t.Errorf("granary %q: exit %d: %s", args, code, stderr)
		}
	}
}
