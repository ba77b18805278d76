// Package otlp sends Granary's spans (internal/tracing) to an OTLP/HTTP
// receiver: it is the one importer of the OpenTelemetry SDK and exporter,
// and only cmd/granary imports it. Spans leave in batches; stop flushes
// what is left.
package otlp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/granary-store/granary/internal/tracing"
)

// Config says where spans go.
type Config struct {
	// Endpoint is the OTLP/HTTP receiver: host:port (plain http, path
	// /v1/traces) or a URL http(s)://host:port[/path].
	Endpoint string
	// Service is the service.name of every span (granary-master, ...).
	Service string
	// Sample is the fraction of S3 requests traced, 0 to 1; calls join
	// their caller's decision.
	Sample float64
	// BatchTimeout is the longest a finished span waits before it is
	// sent (0: 5 s).
	BatchTimeout time.Duration
	// Logger gets failed exports, at Warn.
	Logger *slog.Logger
}

// CheckEndpoint reports whether e is an endpoint Config accepts.
func CheckEndpoint(e string) error {
	if strings.Contains(e, "://") {
		u, err := url.Parse(e)
		if err != nil {
			return fmt.Errorf("otlp: endpoint %q: %w", e, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("otlp: endpoint %q: want http://HOST:PORT or https://HOST:PORT[/PATH]", e)
		}
		return nil
	}
	if _, port, err := net.SplitHostPort(e); err != nil || port == "" {
		return fmt.Errorf("otlp: endpoint %q: want HOST:PORT or a URL", e)
	}
	return nil
}

// Start sends spans to cfg.Endpoint until stop is called; stop flushes the
// spans not sent yet, bounded by its ctx. One process has one
// configuration: Start while another is installed fails.
func Start(cfg Config) (stop func(context.Context) error, err error) {
	if err := CheckEndpoint(cfg.Endpoint); err != nil {
		return nil, err
	}
	if cfg.Sample < 0 || cfg.Sample > 1 {
		return nil, fmt.Errorf("otlp: sample %v is not between 0 and 1", cfg.Sample)
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithTimeout(10 * time.Second)}
	if strings.Contains(cfg.Endpoint, "://") {
		opts = append(opts, otlptracehttp.WithEndpointURL(cfg.Endpoint))
	} else {
		opts = append(opts, otlptracehttp.WithEndpoint(cfg.Endpoint), otlptracehttp.WithInsecure())
	}
	exp, err := otlptracehttp.New(context.Background(), opts...) // no I/O until the first export
	if err != nil {
		return nil, fmt.Errorf("otlp: exporter: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { logger.Warn("trace export failed", "err", err) }))
	var batch []sdktrace.BatchSpanProcessorOption
	if cfg.BatchTimeout > 0 {
		batch = append(batch, sdktrace.WithBatchTimeout(cfg.BatchTimeout))
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, batch...),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.Sample))),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", cfg.Service))),
	)
	uninstall, err := tracing.Install(tp)
	if err != nil {
		tp.Shutdown(context.Background())
		return nil, err
	}
	return func(ctx context.Context) error {
		uninstall()
		if err := tp.Shutdown(ctx); err != nil {
			return fmt.Errorf("otlp: flush: %w", err)
		}
		return nil
	}, nil
}
