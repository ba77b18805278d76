// Package tracing is Granary's optional OpenTelemetry tracing, off unless a
// server is started with --otlp-endpoint. It holds the spans' side of it
// on the OpenTelemetry API only (internal/rpc calls it on both sides of
// every call between processes and at the entry of every S3 request);
// internal/tracing/otlp holds the SDK and the OTLP/HTTP exporter and
// Installs them, and is imported by cmd/granary alone, so the client
// library never links the SDK.
//
// The shape of a trace: the gateway starts a server span per S3 request
// (or joins the trace of a client that sent a W3C traceparent); every call
// made with a context that has a span gets a client span, and its
// traceparent header makes the master or chunk server that serves it start
// a server span in the same trace. Calls without a span in their context
// (heartbeats, repair copies, the CLI) start nothing, so tracing follows
// S3 requests and nothing else.
//
// With tracing off every function here is one atomic load.
package tracing

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// state is what Install installed.
type state struct{ tracer trace.Tracer }

var (
	current    atomic.Pointer[state]
	propagator = propagation.TraceContext{}
)

// Install makes tp the source of every span until uninstall is called.
// One process has one source: Install while another is installed fails.
func Install(tp trace.TracerProvider) (uninstall func(), err error) {
	s := &state{tracer: tp.Tracer("github.com/granary-store/granary")}
	if !current.CompareAndSwap(nil, s) {
		return nil, errors.New("tracing: already installed in this process")
	}
	return func() { current.CompareAndSwap(s, nil) }, nil
}

// On reports whether spans are being recorded.
func On() bool { return current.Load() != nil }

// Active reports whether ctx has a span that calls made with it should
// continue.
func Active(ctx context.Context) bool {
	return current.Load() != nil && trace.SpanContextFromContext(ctx).IsValid()
}

// End finishes a span with the HTTP status of its call (0 when there was
// none) and the call's error, if any.
type End func(status int, err error)

// StartServer starts the span of a call a process serves, named
// "COMPONENT METHOD ROUTE", in the trace of the traceparent in h. Without
// one it starts a new trace when root is set (an S3 request) and nothing
// otherwise (end is then nil).
func StartServer(ctx context.Context, h http.Header, component, method, path string, root bool) (context.Context, End) {
	s := current.Load()
	if s == nil {
		return ctx, nil
	}
	ctx = propagator.Extract(ctx, propagation.HeaderCarrier(h))
	if !root && !trace.SpanContextFromContext(ctx).IsRemote() {
		return ctx, nil
	}
	ctx, span := s.tracer.Start(ctx, component+" "+method+" "+Route(path), trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("granary.component", component), attribute.String("http.request.method", method),
			attribute.String("url.path", path)))
	return ctx, ender(span)
}

// StartClient starts the span of a call made with ctx to host, named
// "METHOD ROUTE", and returns the context to send it with (Inject). When
// ctx has no span it starts nothing (end is nil).
func StartClient(ctx context.Context, method, host, path string) (context.Context, End) {
	s := current.Load()
	if s == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, nil
	}
	ctx, span := s.tracer.Start(ctx, method+" "+Route(path), trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("http.request.method", method), attribute.String("server.address", host),
			attribute.String("url.path", path)))
	return ctx, ender(span)
}

// StartInternal starts a span for work a process does within a call it
// serves or makes without crossing to another process (a write of the
// gateway straight into a chunk server of the same process), named
// "COMPONENT NAME", as a child of ctx's span. When ctx has no span it
// starts nothing (end is nil).
func StartInternal(ctx context.Context, component, name string) (context.Context, End) {
	s := current.Load()
	if s == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, nil
	}
	ctx, span := s.tracer.Start(ctx, component+" "+name, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attribute.String("granary.component", component)))
	return ctx, ender(span)
}

// Inject writes the traceparent of ctx's span into h.
func Inject(ctx context.Context, h http.Header) {
	if Active(ctx) {
		propagator.Inject(ctx, propagation.HeaderCarrier(h))
	}
}

// SetAttribute sets a string attribute on ctx's span, if it has one.
func SetAttribute(ctx context.Context, key, value string) {
	if current.Load() != nil {
		trace.SpanFromContext(ctx).SetAttributes(attribute.String(key, value))
	}
}

func ender(span trace.Span) End {
	return func(status int, err error) {
		if status > 0 {
			span.SetAttributes(attribute.Int("http.response.status_code", status))
		}
		switch {
		case err != nil:
			span.SetStatus(codes.Error, err.Error())
		case status >= 500:
			span.SetStatus(codes.Error, http.StatusText(status))
		}
		span.End()
	}
}

// Route is path with every all-digit segment (chunk ids) written {id}, so
// span names stay few.
func Route(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if p != "" && strings.Trim(p, "0123456789") == "" {
			parts[i] = "{id}"
		}
	}
	return strings.Join(parts, "/")
}
