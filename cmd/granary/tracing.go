package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/granary-store/granary/internal/tracing/otlp"
)

// traceFlags are the servers' OpenTelemetry flags. Both are checked when
// parsed, so a mistake is a usage error before anything starts.
type traceFlags struct {
	endpoint string
	sample   float64
}

// registerTraceFlags adds --otlp-endpoint and --trace-sample to fs.
func registerTraceFlags(fs *flag.FlagSet) *traceFlags {
	tf := &traceFlags{sample: 1}
	fs.Var(endpointFlag{&tf.endpoint}, "otlp-endpoint",
		"send OpenTelemetry traces of S3 requests (gateway, master and chunk-server spans) to this OTLP/HTTP `receiver`: HOST:PORT (plain http) or http(s)://HOST:PORT[/PATH] (default: no tracing)")
	fs.Var(fractionFlag{&tf.sample}, "trace-sample", "fraction of S3 requests traced with --otlp-endpoint, 0 to 1; calls between servers follow their request's choice")
	return tf
}

// start starts tracing as service when --otlp-endpoint is set, and returns
// what stops it, flushing the spans not sent yet for at most 5 seconds.
// Tracing is an aid: when it cannot start, the server runs without it
// and says so.
func (tf *traceFlags) start(service string, logger *slog.Logger) func() {
	if tf.endpoint == "" {
		return func() {}
	}
	stop, err := otlp.Start(otlp.Config{Endpoint: tf.endpoint, Service: service, Sample: tf.sample, Logger: logger})
	if err != nil {
		logger.Error("tracing not started", "err", err)
		return func() {}
	}
	logger.Info("tracing on", "otlp_endpoint", tf.endpoint, "sample", tf.sample)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := stop(ctx); err != nil {
			logger.Warn("tracing: spans lost at shutdown", "err", err)
		}
	}
}

// endpointFlag is --otlp-endpoint, checked by otlp.CheckEndpoint.
type endpointFlag struct{ s *string }

func (f endpointFlag) String() string {
	if f.s == nil {
		return ""
	}
	return *f.s
}

func (f endpointFlag) Set(v string) error {
	if v != "" {
		if err := otlp.CheckEndpoint(v); err != nil {
			return err
		}
	}
	*f.s = v
	return nil
}

// fractionFlag is a number from 0 to 1.
type fractionFlag struct{ f *float64 }

func (f fractionFlag) String() string {
	if f.f == nil {
		return "0"
	}
	return strconv.FormatFloat(*f.f, 'g', -1, 64)
}

func (f fractionFlag) Set(v string) error {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || x < 0 || x > 1 {
		return fmt.Errorf("want a number from 0 to 1, got %q", v)
	}
	*f.f = x
	return nil
}
