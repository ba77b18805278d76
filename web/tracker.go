package web

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/granary-store/granary/client"
)

const (
	maxSamples = 180 // history kept for charts and rates
	maxEvents  = 200 // events kept for the events page
	rateWindow = time.Minute
)

// snapshot is one look at the cluster, shared by every viewer. It is not
// changed after the tracker publishes it.
type snapshot struct {
	At      time.Time
	Status  client.Status
	Health  map[client.NodeID]memberHealth // by member id
	Buckets []client.Bucket
	Users   []client.User
	Keys    []client.AccessKey // without secrets
	// Err is set when the cluster could not be read; the data is then the
	// last good one, from StaleSince.
	Err        error
	StaleSince time.Time
	// Empty means the cluster was never read.
	Empty bool
}

// memberHealth is one master's own view of itself.
type memberHealth struct {
	Applied uint64
	Err     string
}

// sample is the part of a snapshot kept as history.
type sample struct {
	At              time.Time
	UnderReplicated int
	Queued          int
	CopiesDone      int64
	Used, Capacity  int64
}

// event is a state change the tracker saw between two snapshots.
type event struct {
	At    time.Time
	Level string // ok, warn, bad
	Text  string
}

// tracker owns the shared snapshot, its history and the events. A request
// that finds the snapshot older than refresh takes the next one itself,
// holding mu, so concurrent viewers wait for it and share it. Safe for
// concurrent use; it starts no goroutine that outlives a call.
type tracker struct {
	cl      Cluster
	log     *slog.Logger
	now     func() time.Time
	refresh time.Duration
	timeout time.Duration

	mu           sync.Mutex
	cur          *snapshot
	dirty        bool // an action changed the cluster since cur was taken
	history      []sample
	events       []event // newest last
	leaderChange time.Time
	repairStart  time.Time
	traffic      traffic      // the gateways' reports, for S3 rates
	gateways     []gatewayRow // of cur, with their rates
	s3           s3Rates      // their sum
}

// view is what a page renders from: a snapshot plus copies of the
// tracker's derived state.
type view struct {
	*snapshot
	History      []sample
	Events       []event // newest first
	LeaderChange time.Time
	RepairStart  time.Time
	Gateways     []gatewayRow // not to be changed: shared by views
	S3           s3Rates
}

func newTracker(cfg *Config, log *slog.Logger, now func() time.Time) *tracker {
	return &tracker{cl: cfg.Cluster, log: log, now: now, refresh: cfg.Refresh, timeout: cfg.CallTimeout}
}

// get returns a view no older than the refresh interval (or the last one,
// marked with its error, when the cluster cannot be read).
func (t *tracker) get(ctx context.Context) view {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cur == nil || t.dirty || t.now().Sub(t.cur.At) >= t.refresh {
		next := t.fetch(ctx, t.cur)
		t.observe(t.cur, next)
		t.cur, t.dirty = next, false
	}
	v := view{snapshot: t.cur, History: append([]sample(nil), t.history...), LeaderChange: t.leaderChange, RepairStart: t.repairStart,
		Gateways: t.gateways, S3: t.s3}
	v.Events = make([]event, len(t.events))
	for i, e := range t.events {
		v.Events[len(t.events)-1-i] = e
	}
	return v
}

// invalidate makes the next get read the cluster again (after an action).
func (t *tracker) invalidate() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dirty = true // published snapshots are never changed: views may be rendering them
}

// fetch reads the cluster. The snapshot is shared, so one viewer leaving
// does not cancel it: the calls run on ctx without its cancellation, all
// of them within one call timeout.
func (t *tracker) fetch(ctx context.Context, prev *snapshot) *snapshot {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.timeout)
	defer cancel()
	s := &snapshot{At: t.now()}
	err := t.read(ctx, s)
	if err == nil {
		return s
	}
	// Logged once, as an event, when the cluster stops being readable.
	if prev != nil && !prev.Empty {
		stale := *prev
		stale.At, stale.Err = s.At, err
		if stale.StaleSince.IsZero() {
			stale.StaleSince = prev.At
		}
		return &stale
	}
	return &snapshot{At: s.At, Err: err, Empty: true, StaleSince: s.At}
}

func (t *tracker) read(ctx context.Context, s *snapshot) error {
	var err error
	if s.Status, err = t.cl.Status(ctx); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	if s.Buckets, err = t.cl.Buckets(ctx); err != nil {
		return fmt.Errorf("buckets: %w", err)
	}
	if s.Users, err = t.cl.Users(ctx); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	if s.Keys, err = t.cl.Keys(ctx, ""); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	for i := range s.Keys {
		s.Keys[i].SecretKey = "" // never kept, whatever the source gives
	}
	s.Health = t.health(ctx, s.Status.Members)
	return nil
}

// health asks every member for its own view, in parallel, and waits for
// all of them (each call has its deadline).
func (t *tracker) health(ctx context.Context, members []client.Member) map[client.NodeID]memberHealth {
	out := make(map[client.NodeID]memberHealth, len(members))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range members {
		if m.Address == "" {
			continue
		}
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, min(t.timeout, 2*time.Second))
			defer cancel()
			h, err := t.cl.Health(ctx, m.Address)
			mh := memberHealth{Applied: h.Applied}
			if err != nil {
				mh.Err = err.Error()
			}
			mu.Lock()
			out[m.ID] = mh
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// observe records next in the history and turns the differences from
// prev into events. Called with mu held.
func (t *tracker) observe(prev, next *snapshot) {
	add := func(level, format string, a ...any) {
		e := event{At: next.At, Level: level, Text: fmt.Sprintf(format, a...)}
		t.events = append(t.events, e)
		if len(t.events) > maxEvents {
			t.events = append(t.events[:0:0], t.events[len(t.events)-maxEvents:]...)
		}
		t.log.Info("dashboard event", "event", e.Text, "level", level)
	}
	switch {
	case next.Err != nil && (prev == nil || prev.Err == nil):
		add("bad", "cannot read the cluster: %v", next.Err)
	case next.Err == nil && prev != nil && prev.Err != nil:
		add("ok", "cluster readable again")
	}
	if next.Err != nil {
		return
	}
	t.record(next)
	t.traffic.observe(next.At, next.Status.Gateways)
	t.gateways, t.s3 = t.traffic.rates(next.At, next.Status.Gateways)
	if prev == nil || prev.Empty {
		t.leaderChange = time.Time{}
		if n := next.Status.Chunks.UnderReplicated; n > 0 {
			t.repairStart = next.At
		}
		return
	}
	ps, ns := prev.Status, next.Status
	if ps.Leader != ns.Leader {
		t.leaderChange = next.At
		if ns.Leader == "" {
			add("bad", "no leader")
		} else {
			add("warn", "leader changed: %s → %s", orNone(string(ps.Leader)), ns.Leader)
		}
	}
	if ps.SafeMode != ns.SafeMode {
		if ns.SafeMode {
			add("warn", "safe mode entered: %s", orNone(ns.Repair.SafeModeReason))
		} else {
			add("ok", "safe mode left")
		}
	}
	t.serverEvents(ps.ChunkServers, ns.ChunkServers, add)
	if ps.Leader == ns.Leader { // a new leader learns the gateways anew from their next reports
		gatewayEvents(ps.Gateways, ns.Gateways, add)
	}
	pc, nc := ps.Chunks, ns.Chunks
	switch {
	case pc.UnderReplicated == 0 && nc.UnderReplicated > 0:
		t.repairStart = next.At
		add("warn", "repair started: %d chunks under-replicated", nc.UnderReplicated)
	case pc.UnderReplicated > 0 && nc.UnderReplicated == 0:
		took := ""
		if !t.repairStart.IsZero() {
			took = " in " + next.At.Sub(t.repairStart).Round(time.Second).String()
		}
		t.repairStart = time.Time{}
		add("ok", "repair finished%s: every chunk fully replicated", took)
	}
	if pc.Missing == 0 && nc.Missing > 0 {
		add("bad", "%d chunks have no live replica", nc.Missing)
	} else if pc.Missing > 0 && nc.Missing == 0 {
		add("ok", "no chunk missing any more")
	}
	if nc.Corrupt > pc.Corrupt {
		add("bad", "%d corrupt replicas found", nc.Corrupt-pc.Corrupt)
	}
}

func (t *tracker) record(s *snapshot) {
	smp := sample{At: s.At, UnderReplicated: s.Status.Chunks.UnderReplicated, Queued: s.Status.Repair.QueuedCopies + s.Status.Repair.InflightCopies, CopiesDone: s.Status.Repair.CopiesDone}
	for _, cs := range s.Status.ChunkServers {
		if cs.State == "alive" || cs.State == "draining" {
			smp.Used += cs.UsedBytes
			smp.Capacity += cs.CapacityBytes
		}
	}
	t.history = append(t.history, smp)
	if len(t.history) > maxSamples {
		t.history = append(t.history[:0:0], t.history[len(t.history)-maxSamples:]...)
	}
}

func (t *tracker) serverEvents(prev, next []client.ChunkServer, add func(level, format string, a ...any)) {
	was := make(map[client.NodeID]string, len(prev))
	for _, cs := range prev {
		was[cs.ID] = cs.State
	}
	sorted := append([]client.ChunkServer(nil), next...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	for _, cs := range sorted {
		old, ok := was[cs.ID]
		switch {
		case !ok:
			add("ok", "chunk server %s joined (%s)", cs.ID, cs.State)
		case old == cs.State:
		case cs.State == "dead":
			add("bad", "chunk server %s dead", cs.ID)
		case cs.State == "alive" && old == "dead":
			add("ok", "chunk server %s back", cs.ID)
		case cs.State == "draining":
			add("warn", "decommission of %s started", cs.ID)
		case cs.State == "decommissioned":
			add("ok", "decommission of %s done", cs.ID)
		default:
			add("warn", "chunk server %s: %s → %s", cs.ID, old, cs.State)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// repairRate returns the copies finished per second over the last
// rateWindow of history, the span it measured, and whether there was
// enough history to say.
func repairRate(h []sample) (float64, time.Duration, bool) {
	if len(h) < 2 {
		return 0, 0, false
	}
	last := h[len(h)-1]
	first := h[0]
	for _, s := range h {
		if last.At.Sub(s.At) <= rateWindow {
			first = s
			break
		}
	}
	span := last.At.Sub(first.At)
	if span < time.Second {
		return 0, span, false
	}
	return float64(last.CopiesDone-first.CopiesDone) / span.Seconds(), span, true
}
