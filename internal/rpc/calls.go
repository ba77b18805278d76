package rpc

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/granary-store/granary/internal/reqid"
	"github.com/granary-store/granary/internal/tracing"
)

// transport is the RoundTripper of the clients NewClient builds: it sends
// the request id of each call's context (reqid.From) in reqid.Header, so
// every call a request causes carries its id to the next process, whoever
// makes the call. A call that already has the header (a follower forwarding
// a call to the leader) keeps it. When tracing is on and the context has a
// span, the call gets a client span (until the answer's headers arrive)
// and carries its traceparent.
type transport struct {
	base  *http.Transport
	local map[string]http.Handler // ClientOptions.InProcess
}

// send makes the call in process when its address has a handler here,
// over the network otherwise.
func (t *transport) send(req *http.Request) (*http.Response, error) {
	if h, ok := t.local[req.URL.Host]; ok {
		return inProcess{h}.RoundTrip(req)
	}
	return t.base.RoundTrip(req)
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	id := reqid.From(ctx)
	setID := id != "" && req.Header.Get(reqid.Header) == ""
	if !setID && !tracing.Active(ctx) {
		return t.send(req)
	}
	ctx, end := tracing.StartClient(ctx, req.Method, req.URL.Host, req.URL.Path)
	req = req.Clone(ctx) // a RoundTripper must not change its request
	if setID {
		req.Header.Set(reqid.Header, id)
	}
	tracing.Inject(ctx, req.Header)
	resp, err := t.send(req)
	if end != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		end(status, err)
	}
	return resp, err
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

// Trace returns next, the handler of the calls a process (component:
// master, chunkserver) serves from other processes, with each call traced:
// the request id the caller sent is in the call's context (reqid.From), so
// what next logs through reqid.Logger has it and the calls next makes
// carry it on; a Debug line goes to logger per call (method, path without
// the query, status, bytes written, duration and request_id); and with
// tracing on, a call that carries a traceparent gets a server span in that
// trace. When logger does not log Debug and the call has no span, the call
// goes to next with the writer it came with.
func Trace(component string, logger *slog.Logger, next http.Handler) http.Handler {
	return serve(component, logger, false, next)
}

// TraceRoot is Trace for a process's entry point (the S3 gateway): with
// tracing on, every call it serves starts a trace of its own, or joins the
// one its client sent. It logs nothing.
func TraceRoot(component string, next http.Handler) http.Handler {
	return serve(component, nil, true, next)
}

func serve(component string, logger *slog.Logger, root bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = withRequestID(r)
		ctx, end := tracing.StartServer(r.Context(), r.Header, component, r.Method, r.URL.Path, root)
		logging := logger != nil && logger.Enabled(ctx, slog.LevelDebug)
		if end == nil && !logging {
			next.ServeHTTP(w, r)
			return
		}
		id := reqid.From(ctx)
		if end != nil {
			r = r.WithContext(ctx)
			if id != "" {
				tracing.SetAttribute(ctx, "granary.request_id", id)
			}
		}
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		if end != nil {
			end(sw.status, nil)
		}
		if logging {
			LogServed(ctx, logger, r.Method, r.URL.Path, sw.status, time.Since(start), slog.Int64("bytes", sw.bytes))
		}
	})
}

// LogServed writes the Debug line Trace writes for each call it serves
// (method, path, status, extra, duration and the context's request id),
// for a call served without it (a direct in-process call). It does nothing
// when logger does not log Debug.
func LogServed(ctx context.Context, logger *slog.Logger, method, path string, status int, took time.Duration, extra ...slog.Attr) {
	if !logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := append([]slog.Attr{slog.String("method", method), slog.String("path", path), slog.Int("status", status)}, extra...)
	attrs = append(attrs, slog.Duration("duration", took))
	if id := reqid.From(ctx); id != "" {
		attrs = append(attrs, slog.String(reqid.Key, id))
	}
	logger.LogAttrs(ctx, slog.LevelDebug, "call served", attrs...)
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
