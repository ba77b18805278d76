// Package s3metrics is the S3 gateway's Prometheus metrics and its reports
// to the master leader: requests by operation and status code, their
// duration, body bytes in and out, requests in flight, the Go runtime's
// and process's figures, on a registry of its own (several gateways may
// share a process in tests); and a Reporter that sums the request and byte
// counters by operation class and status class for the leader, which
// the dashboard turns into rates. The op label is the caller's bounded set
// of operation names.
package s3metrics

import (
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the gateway's Prometheus families. The op label is the S3
// operation's name from the gateway's ops table, "Preflight" for CORS
// preflights and "refused" for requests no operation takes: a bounded
// set. Metrics are safe for concurrent use.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	in, out  *prometheus.CounterVec
	inFlight prometheus.Gauge
	// counters gathers requests, in and out only, for the reports to the
	// master (report.go).
	counters *prometheus.Registry
}

// New returns the gateway's metrics on a new registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "granary_s3_requests_total", Help: "S3 requests answered, by operation and HTTP status code.",
		}, []string{"op", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "granary_s3_request_duration_seconds", Help: "Time to answer an S3 request, body included, by operation.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16), // 0.5 ms to 16 s
		}, []string{"op"}),
		in: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "granary_s3_received_bytes_total", Help: "Request body bytes read from S3 clients, by operation.",
		}, []string{"op"}),
		out: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "granary_s3_sent_bytes_total", Help: "Response body bytes written to S3 clients, by operation.",
		}, []string{"op"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "granary_s3_requests_in_flight", Help: "S3 requests being answered.",
		}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.in, m.out, m.inFlight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.counters = counterRegistry(m.requests, m.in, m.out)
	return m
}

// Handler serves the metrics to Prometheus.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Body counts the request body bytes read through it.
type Body struct {
	io.ReadCloser
	n atomic.Int64
}

// Read reads from the body, counting the bytes.
func (c *Body) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// Recorder notes the status and counts the body bytes of a response.
// Unwrap keeps http.ResponseController working through it. Like the
// http.ResponseWriter it wraps, it belongs to the request's handler.
type Recorder struct {
	http.ResponseWriter
	status  int
	written bool
	n       int64
}

// WriteHeader notes the first status written and writes it.
func (s *Recorder) WriteHeader(code int) {
	if !s.written {
		s.status, s.written = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write writes and counts the body.
func (s *Recorder) Write(p []byte) (int, error) {
	s.written = true
	n, err := s.ResponseWriter.Write(p)
	s.n += int64(n)
	return n, err
}

// Unwrap returns the http.ResponseWriter underneath.
func (s *Recorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush passes flushes through (streamed listings and keep-alive bytes).
func (s *Recorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// N is the count of body bytes read so far.
func (c *Body) N() int64 { return c.n.Load() }

// Status is the response's status (200 until one is written).
func (s *Recorder) Status() int { return s.status }

// Written is the count of body bytes written.
func (s *Recorder) Written() int64 { return s.n }

// Begin starts measuring a request: its body is to be read through body
// and its answer written through rec; done records it under the name of
// its operation.
func (m *Metrics) Begin(w http.ResponseWriter, r *http.Request) (rec *Recorder, body *Body, done func(op string)) {
	body = &Body{ReadCloser: r.Body}
	rec = &Recorder{ResponseWriter: w, status: http.StatusOK}
	m.inFlight.Inc()
	start := time.Now()
	return rec, body, func(op string) {
		m.inFlight.Dec()
		m.requests.WithLabelValues(op, strconv.Itoa(rec.status)).Inc()
		m.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
		m.in.WithLabelValues(op).Add(float64(body.n.Load()))
		m.out.WithLabelValues(op).Add(float64(rec.n))
	}
}
