package gateway

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/granary-store/granary/internal/audit"
)

// MetricsPath serves the gateway's Prometheus metrics, unauthenticated
// like HealthPath; no bucket can be named "-", so it shadows no S3 path.
const MetricsPath = "/-/metrics"

// metrics are the gateway's Prometheus families, on a registry of its own
// (several gateways may share a process in tests). The op label is the S3
// operation's name from the ops table, "Preflight" for CORS preflights
// and "refused" for requests no operation takes: a bounded set.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	in, out  *prometheus.CounterVec
	inFlight prometheus.Gauge
	// counters gathers requests, in and out only, for the reports to the
	// master (report.go).
	counters *prometheus.Registry
}

func newMetrics() *metrics {
	m := &metrics{
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

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// metricsOpKey carries a request's *opName through the context: front counts
// every request, including those refused before routing (bad signatures),
// and dispatch fills in the operation once it has classified it.
type metricsOpKey struct{}

// opName is what is known of a request as it is served: its operation,
// and for the audit log, its target, principal, error code and body.
type opName struct {
	name                 string
	bucket, key, version string
	p                    *principal
	code                 string // the S3 error code answered, if any
	body                 *countingBody
}

// begin starts measuring a request; done records it. Until the route
// names the operation, it counts as "refused".
func (m *metrics) begin(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, func()) {
	body := &countingBody{ReadCloser: r.Body}
	op := &opName{name: "refused", body: body}
	r = r.WithContext(context.WithValue(r.Context(), metricsOpKey{}, op))
	r.Body = body
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	m.inFlight.Inc()
	start := time.Now()
	return rec, r, func() {
		m.inFlight.Dec()
		m.requests.WithLabelValues(op.name, strconv.Itoa(rec.status)).Inc()
		m.duration.WithLabelValues(op.name).Observe(time.Since(start).Seconds())
		m.in.WithLabelValues(op.name).Add(float64(body.n.Load()))
		m.out.WithLabelValues(op.name).Add(float64(rec.n))
	}
}

// nameOp gives a request being measured its operation's name (dispatch
// calls it once it has classified the request).
func nameOp(r *http.Request, name string) {
	if op := noteOf(r); op != nil {
		op.name = name
	}
}

// noteOf returns what is known of r as it is served (nil outside front).
func noteOf(r *http.Request) *opName {
	op, _ := r.Context().Value(metricsOpKey{}).(*opName)
	return op
}

// countingBody counts the request body bytes read.
type countingBody struct {
	io.ReadCloser
	n atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// statusRecorder notes the status and counts the body bytes of a
// response. Unwrap keeps http.ResponseController working through it.
type statusRecorder struct {
	http.ResponseWriter
	status  int
	written bool
	n       int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.written {
		s.status, s.written = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	s.written = true
	n, err := s.ResponseWriter.Write(p)
	s.n += int64(n)
	return n, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush passes flushes through (streamed listings and keep-alive bytes).
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// audit writes the audit record of a request front served, when the log
// takes it: every request but GET and HEAD, and those too when the log
// records reads. A write that fails is logged, never answered.
func (s *Server) audit(w http.ResponseWriter, r *http.Request, start time.Time) {
	if !s.cfg.Audit.Enabled(!unsafeMethod(r.Method)) {
		return
	}
	rec, _ := w.(*statusRecorder)
	op := noteOf(r)
	if rec == nil || op == nil {
		return
	}
	a := audit.Record{Time: start.UTC(), RequestID: requestID(r), Source: sourceIP(r), Action: op.name,
		Bucket: op.bucket, Key: op.key, VersionID: op.version, Status: rec.status, Error: op.code,
		BytesIn: op.body.n.Load(), BytesOut: rec.n, DurationMs: float64(time.Since(start).Microseconds()) / 1000}
	if p := op.p; p != nil && !p.anonymous {
		a.User, a.AccessKey = p.user, p.accessKey
	}
	switch {
	case rec.status < 400:
		a.Result = audit.ResultAllowed
	case rec.status == http.StatusForbidden || op.code == ErrAccessDenied.Code:
		a.Result = audit.ResultDenied
	default:
		a.Result = audit.ResultError
	}
	if err := s.cfg.Audit.Write(a); err != nil {
		s.log.Warn("audit log write failed", "request_id", a.RequestID, "err", err)
	}
}

// logAccess writes the access log line of a request front served.
func (s *Server) logAccess(w http.ResponseWriter, r *http.Request, start time.Time) {
	rec, _ := w.(*statusRecorder)
	op := noteOf(r)
	if rec == nil || op == nil {
		return
	}
	user := ""
	if op.p != nil {
		user = op.p.user
	}
	s.log.Info("s3 request", "request_id", requestID(r), "op", op.name, "method", r.Method, "path", r.URL.EscapedPath(),
		"status", rec.status, "error", op.code, "in", op.body.n.Load(), "out", rec.n,
		"ms", float64(time.Since(start).Microseconds())/1000, "user", user, "source", sourceIP(r))
}
