package s3metrics

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/granary-store/granary/internal/proto"
)

// Default report timing when the interval is zero.
const (
	defaultReportInterval = 5 * time.Second
	maxReportTimeout      = 3 * time.Second
)

// Sender delivers a report to the leader; *client.Admin implements it.
type Sender interface {
	ReportGateway(ctx context.Context, rep proto.GatewayReport) error
}

// Reporter tells the master leader, every interval, what the gateway has
// served: the cumulative counts of its Prometheus request and byte
// counters (read from them, not counted again) by operation class and
// status class. The leader keeps them as soft state, the dashboard turns
// successive reports into rates. A report that fails is logged once per
// run of failures and dropped: S3 requests never wait on it. Its loop is
// one goroutine (Loop), owned by the caller, that ends with its context.
type Reporter struct {
	send    Sender
	m       *Metrics
	classOf func(op string) string
	log     *slog.Logger
	id      string
	addr    func() string
	started time.Time
	every   time.Duration
	timeout time.Duration
	failing bool // the last report failed (only the loop touches it)
}

// NewReporter returns a Reporter of m's counters through send, every
// interval (0: 5 s), operations classed by classOf, the gateway's address
// read from addr at each report.
func NewReporter(send Sender, m *Metrics, classOf func(op string) string, log *slog.Logger, addr func() string, started time.Time, every time.Duration) *Reporter {
	if every <= 0 {
		every = defaultReportInterval
	}
	raw := make([]byte, 6)
	rand.Read(raw)
	return &Reporter{send: send, m: m, classOf: classOf, log: log, id: "gw-" + hex.EncodeToString(raw), addr: addr, started: started.UTC(),
		every: every, timeout: min(every, maxReportTimeout)}
}

// Loop reports now and then every interval until ctx ends.
func (r *Reporter) Loop(ctx context.Context) {
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
func (r *Reporter) once(ctx context.Context) {
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
func (r *Reporter) report() (proto.GatewayReport, error) {
	traffic, err := r.m.Traffic(r.classOf)
	if err != nil {
		return proto.GatewayReport{}, err
	}
	return proto.GatewayReport{ID: r.id, Address: r.addr(), Started: r.started, Traffic: traffic}, nil
}

// Traffic sums the request and byte counters by operation class (classOf
// of the op label; and status class for requests), in proto.S3Classes
// order, classes never used left out.
func (m *Metrics) Traffic(classOf func(op string) string) ([]proto.S3Traffic, error) {
	fams, err := m.counters.Gather()
	if err != nil {
		return nil, fmt.Errorf("gateway: read counters: %w", err)
	}
	by := map[string]*proto.S3Traffic{}
	get := func(op string) *proto.S3Traffic {
		class := classOf(op)
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

// counterRegistry gathers just the counters a report reads (the same
// collectors the Prometheus endpoint serves).
func counterRegistry(cs ...prometheus.Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(cs...)
	return reg
}

// SetSender replaces the sender; call it before Loop runs (tests make
// reports hang with it).
func (r *Reporter) SetSender(send Sender) { r.send = send }
