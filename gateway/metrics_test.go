package gateway_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/granary-store/granary/gateway"
)

// scrapeS3 reads and parses the gateway's metrics.
func scrapeS3(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + gateway.MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("metrics do not parse: %v", err)
	}
	return fams
}

// sample returns the value of a counter or gauge, or the sample count of
// a histogram, whose labels include the given ones (-1: no such family).
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		for _, l := range m.Label {
			if v, ok := labels[l.GetName()]; ok && v != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	return 0
}

// The gateway serves Prometheus metrics at /-/metrics, unauthenticated
// and shadowing no bucket: requests by S3 operation and status code,
// their duration, bytes in and out, requests in flight, and the Go
// runtime's and the process's figures.
func TestS3Metrics(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 30*time.Second)
	if err := mc.MakeBucket(ctx, "metered", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("m"), 100_000)
	for range 3 {
		if _, err := mc.PutObject(ctx, "metered", "obj", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	o, err := mc.GetObject(ctx, "metered", "obj", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(o); err != nil || len(b) != len(data) {
		t.Fatalf("get: %d bytes, %v", len(b), err)
	}
	o.Close()
	if _, err := mc.StatObject(ctx, "metered", "missing", minio.StatObjectOptions{}); err == nil {
		t.Fatal("stat of a missing key succeeded")
	}
	req, _ := http.NewRequest(http.MethodPut, "http://"+addr+"/metered?replication", strings.NewReader("<x/>"))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}

	fams := scrapeS3(t, addr)
	for _, name := range []string{"granary_s3_requests_total", "granary_s3_request_duration_seconds", "granary_s3_received_bytes_total",
		"granary_s3_sent_bytes_total", "granary_s3_requests_in_flight", "go_goroutines", "process_cpu_seconds_total"} {
		if fams[name] == nil {
			t.Errorf("family %s missing", name)
		}
	}
	checks := []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"granary_s3_requests_total", map[string]string{"op": "PutObject", "code": "200"}, 3},
		{"granary_s3_requests_total", map[string]string{"op": "GetObject", "code": "200"}, 1},
		{"granary_s3_requests_total", map[string]string{"op": "HeadObject", "code": "404"}, 1},
		{"granary_s3_requests_total", map[string]string{"op": "refused"}, 1},
		{"granary_s3_request_duration_seconds", map[string]string{"op": "PutObject"}, 3},
		{"granary_s3_received_bytes_total", map[string]string{"op": "PutObject"}, 3 * 100_000},
		{"granary_s3_sent_bytes_total", map[string]string{"op": "GetObject"}, 100_000},
	}
	for _, c := range checks {
		if got := sample(fams, c.name, c.labels); got < c.min {
			t.Errorf("%s%v = %v, want at least %v", c.name, c.labels, got, c.min)
		}
	}
	// A bucket named like the path cannot exist: "-" is not a bucket name.
	if err := mc.MakeBucket(ctx, "-", minio.MakeBucketOptions{}); err == nil {
		t.Error(`a bucket named "-" was created`)
	}
}
