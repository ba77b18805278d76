package gateway

import (
	"net/http"
	"time"

	"github.com/granary-store/granary/gateway/authz"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3metrics"
	"github.com/granary-store/granary/internal/audit"
)

// MetricsPath serves the gateway's Prometheus metrics, unauthenticated
// like HealthPath; no bucket can be named "-", so it shadows no S3 path.
const MetricsPath = "/-/metrics"

// metricsOpKey carries a request's *opName through the context: front counts
// every request, including those refused before routing (bad signatures),
// and dispatch fills in the operation once it has classified it.
type metricsOpKey struct{}

// opName is what is known of a request as it is served: its operation,
// and for the audit log, its target, principal, error code and body.
type opName struct {
	name                 string
	bucket, key, version string
	p                    *authz.Principal
	code                 string // the S3 error code answered, if any
	body                 *s3metrics.Body
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

// audit writes the audit record of a request front served, when the log
// takes it: every request but GET and HEAD, and those too when the log
// records reads. A write that fails is logged, never answered.
func (s *Server) audit(w http.ResponseWriter, r *http.Request, start time.Time) {
	if !s.cfg.Audit.Enabled(!unsafeMethod(r.Method)) {
		return
	}
	rec, _ := w.(*s3metrics.Recorder)
	op := noteOf(r)
	if rec == nil || op == nil {
		return
	}
	a := audit.Record{Time: start.UTC(), RequestID: requestID(r), Source: authz.SourceIP(r), Action: op.name,
		Bucket: op.bucket, Key: op.key, VersionID: op.version, Status: rec.Status(), Error: op.code,
		BytesIn: op.body.N(), BytesOut: rec.Written(), DurationMs: float64(time.Since(start).Microseconds()) / 1000}
	if p := op.p; p != nil && !p.Anonymous {
		a.User, a.AccessKey = p.User, p.AccessKey
	}
	switch {
	case rec.Status() < 400:
		a.Result = audit.ResultAllowed
	case rec.Status() == http.StatusForbidden || op.code == s3err.AccessDenied.Name:
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
	rec, _ := w.(*s3metrics.Recorder)
	op := noteOf(r)
	if rec == nil || op == nil {
		return
	}
	user := ""
	if op.p != nil {
		user = op.p.User
	}
	s.log.Info("s3 request", "request_id", requestID(r), "op", op.name, "method", r.Method, "path", r.URL.EscapedPath(),
		"status", rec.Status(), "error", op.code, "in", op.body.N(), "out", rec.Written(),
		"ms", float64(time.Since(start).Microseconds())/1000, "user", user, "source", authz.SourceIP(r))
}
