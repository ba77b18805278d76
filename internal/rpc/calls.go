package rpc

import (
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/granary-store/granary/internal/reqid"
)

// transport is the RoundTripper of the clients NewClient builds: it sends
// the request id of each call's context (reqid.From) in reqid.Header, so
// every call a request causes carries its id to the next process, whoever
// makes the call. A call that already has the header (a follower forwarding
// a call to the leader) keeps it.
type transport struct{ base *http.Transport }

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if id := reqid.From(req.Context()); id != "" && req.Header.Get(reqid.Header) == "" {
		req = req.Clone(req.Context()) // a RoundTripper must not change its request
		req.Header.Set(reqid.Header, id)
	}
	return t.base.RoundTrip(req)
}

// CloseIdleConnections closes the idle connections of the pool underneath
// (http.Client.CloseIdleConnections calls it).
func (t *transport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// withRequestID returns r with the request id its caller sent
// (reqid.Header) in its context; an id that is not reqid.Valid is dropped.
func withRequestID(r *http.Request) *http.Request {
	id := r.Header.Get(reqid.Header)
	if id == "" || !reqid.Valid(id) {
		return r
	}
	return r.WithContext(reqid.With(r.Context(), id))
}

// LogCalls returns next, logging one Debug line to logger for each call it
// serves: method, path (never the query), status, bytes written, duration
// and, when the caller sent one, the request id (attribute reqid.Key). The
// call's context carries the id too (reqid.From), so what next logs
// through reqid.Logger has it as well. When logger does not log at Debug
// the call goes to next untouched.
func LogCalls(logger *slog.Logger, next http.Handler) http.Handler {
	if logger == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = withRequestID(r)
		if !logger.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		attrs := []slog.Attr{slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", sw.status), slog.Int64("bytes", sw.bytes), slog.Duration("duration", time.Since(start))}
		if id := reqid.From(r.Context()); id != "" {
			attrs = append(attrs, slog.String(reqid.Key, id))
		}
		logger.LogAttrs(r.Context(), slog.LevelDebug, "call served", attrs...)
	})
}

// statusWriter records the status and body size of an answer. Unwrap lets
// http.ResponseController reach the writer underneath (deadlines, full
// duplex, flushes), and ReadFrom keeps the underlying writer's fast path.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
	}
	w.bytes += n
	return n, err
}

// Unwrap returns the writer underneath, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
