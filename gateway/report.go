package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/granary-store/granary/internal/proto"
)

// Default report timing when Config.ReportInterval is zero.
const (
	defaultReportInterval = 5 * time.Second
	maxReportTimeout      = 3 * time.Second
)

// reportSender delivers a report to the leader; *client.Admin implements
// it.
type reportSender interface {
	ReportGateway(ctx context.Context, rep proto.GatewayReport) error
}

// reporter tells the master leader, every interval, what the gateway has
// served: the cumulative counts of its Prometheus request and byte
// counters (read from them, not counted again) by operation class and
// status class. The leader keeps them as soft state, the dashboard turns
// successive reports into rates. A report that fails is logged once per
// run of failures and dropped: S3 requests never wait on it. Its loop is
// one goroutine, owned by the Server, that ends with Run's context.
type reporter struct {
	send    reportSender
	m       *metrics
	log     *slog.Logger
	id      string
	addr    func() string
	started time.Time
	every   time.Duration
	timeout time.Duration
	failing bool // the last report failed (only the loop touches it)
}

func newReporter(send reportSender, m *metrics, log *slog.Logger, addr func() string, started time.Time, every time.Duration) *reporter {
	if every <= 0 {
		every = defaultReportInterval
	}
	raw := make([]byte, 6)
	rand.Read(raw)
	return &reporter{send: send, m: m, log: log, id: "gw-" + hex.EncodeToString(raw), addr: addr, started: started.UTC(),
		every: every, timeout: min(every, maxReportTimeout)}
}

// loop reports now and then every interval until ctx ends.
func (r *reporter) loop(ctx context.Context) {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		r.once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// once sends one report under the report timeout.
func (r *reporter) once(ctx context.Context) {
	rep, err := r.report()
	if err == nil {
		cctx, cancel := context.WithTimeout(ctx, r.timeout)
		err = r.send.ReportGateway(cctx, rep)
		cancel()
	}
	switch {
	case err != nil && ctx.Err() != nil:
	case err != nil && !r.failing:
		r.failing = true
		r.log.Warn("gateway report to the master failed; S3 keeps serving", "gateway", r.id, "err", err)
	case err != nil:
		r.log.Debug("gateway report failed", "gateway", r.id, "err", err)
	case r.failing:
		r.failing = false
		r.log.Info("gateway reports reach the master again", "gateway", r.id)
	}
}

// report reads the counters into a report.
func (r *reporter) report() (proto.GatewayReport, error) {
	traffic, err := r.m.traffic()
	if err != nil {
		return proto.GatewayReport{}, err
	}
	return proto.GatewayReport{ID: r.id, Address: r.addr(), Started: r.started, Traffic: traffic}, nil
}

// traffic sums the request and byte counters by operation class (and
// status class for requests), in proto.S3Classes order, classes never
// used left out.
func (m *metrics) traffic() ([]proto.S3Traffic, error) {
	fams, err := m.counters.Gather()
	if err != nil {
		return nil, fmt.Errorf("gateway: read counters: %w", err)
	}
	by := map[string]*proto.S3Traffic{}
	get := func(op string) *proto.S3Traffic {
		class := s3Class(op)
		t := by[class]
		if t == nil {
			t = &proto.S3Traffic{Class: class, Requests: map[string]int64{}}
			by[class] = t
		}
		return t
	}
	for _, f := range fams {
		for _, mt := range f.GetMetric() {
			var op, code string
			for _, l := range mt.GetLabel() {
				switch l.GetName() {
				case "op":
					op = l.GetValue()
				case "code":
					code = l.GetValue()
				}
			}
			n := int64(mt.GetCounter().GetValue())
			switch f.GetName() {
			case "granary_s3_requests_total":
				c, _ := strconv.Atoi(code)
				get(op).Requests[proto.S3StatusClass(c)] += n
			case "granary_s3_received_bytes_total":
				get(op).BytesIn += n
			case "granary_s3_sent_bytes_total":
				get(op).BytesOut += n
			}
		}
	}
	out := make([]proto.S3Traffic, 0, len(by))
	for _, class := range proto.S3Classes {
		if t := by[class]; t != nil {
			out = append(out, *t)
		}
	}
	return out, nil
}

// opClasses maps every operation of the ops table to its class.
var opClasses = func() map[string]string {
	out := map[string]string{}
	for _, o := range ops {
		switch {
		case strings.HasPrefix(o.name, "List"):
			out[o.name] = proto.S3ClassList
		case o.method == "DELETE" || strings.HasPrefix(o.name, "Delete") || strings.HasPrefix(o.name, "Abort"):
			out[o.name] = proto.S3ClassDelete
		case o.method == "GET" || o.method == "HEAD":
			out[o.name] = proto.S3ClassRead
		default:
			out[o.name] = proto.S3ClassWrite
		}
	}
	return out
}()

// s3Class is the class of an operation name as the metrics label it
// (other: preflights and refused requests).
func s3Class(op string) string {
	if c, ok := opClasses[op]; ok {
		return c
	}
	return proto.S3ClassOther
}

// counterRegistry gathers just the counters a report reads (the same
// collectors the Prometheus endpoint serves).
func counterRegistry(cs ...prometheus.Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(cs...)
	return reg
}
