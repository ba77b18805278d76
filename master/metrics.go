package master

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/convert"
	"github.com/granary-store/granary/master/meta"
)

// metrics is a member's Prometheus registry (one per Server, so members
// sharing a process do not share figures) and the instruments the member
// updates: apply and HTTP API latency. Gauges and counters of the state are
// read at scrape time by stateCollector. Safe for concurrent use.
type metrics struct {
	reg          *prometheus.Registry
	applySeconds *prometheus.HistogramVec
	apiSeconds   *prometheus.HistogramVec
}

// latencyBuckets span 0.5 ms to about 16 s.
var latencyBuckets = prometheus.ExponentialBuckets(0.0005, 2, 16)

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		applySeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "granary_master_apply_seconds", Help: "Time from proposing a command to its result, by operation (leader only).",
			Buckets: latencyBuckets,
		}, []string{"op"}),
		apiSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "granary_master_http_request_duration_seconds",
			Help: "HTTP API requests by route template (\"other\": no route), method and status code.", Buckets: latencyBuckets,
		}, []string{"route", "method", "code"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.applySeconds, m.apiSeconds, stateCollector{s}, convert.Collector(s.conversionProgress),
	)
	return m
}

// handler serves the registry.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// observeApply records a proposal of op that started at start.
func (m *metrics) observeApply(op meta.Op, start time.Time) {
	m.applySeconds.WithLabelValues(op.String()).Observe(time.Since(start).Seconds())
}

type routeKey struct{}

// instrument measures every request to router, labelled with the template
// of the route it matched (a bounded set) or "other".
func (m *metrics) instrument(router *mux.Router) http.Handler {
	router.Use(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p, ok := r.Context().Value(routeKey{}).(*string); ok {
				if t, err := mux.CurrentRoute(r).GetPathTemplate(); err == nil {
					*p = t
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	timed := promhttp.InstrumentHandlerDuration(m.apiSeconds, router,
		promhttp.WithLabelFromCtx("route", func(ctx context.Context) string { return *ctx.Value(routeKey{}).(*string) }))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := "other"
		timed.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), routeKey{}, &route)))
	})
}

// stateDescs lists every family stateCollector may send.
var stateDescs []*prometheus.Desc

func desc(name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc(name, help, labels, nil)
	stateDescs = append(stateDescs, d)
	return d
}

var (
	descIsLeader      = desc("granary_master_is_leader", "1 when this member is the ready leader.")
	descTerm          = desc("granary_raft_term", "Current Raft term.")
	descCommitIndex   = desc("granary_raft_commit_index", "Raft commit index.")
	descAppliedIndex  = desc("granary_raft_applied_index", "Last index applied to the state.")
	descRan           = desc("granary_fsm_entries_run_total", "Log entries this process ran against the state.")
	descSkipped       = desc("granary_fsm_entries_skipped_total", "Replayed log entries the state already held.")
	descRaftState     = desc("granary_raft_state", "Raft state of this member.", "state")
	descSafeMode      = desc("granary_safe_mode", "1 while the leader holds repair and deletion back.")
	descChunkServers  = desc("granary_chunkservers", "Chunk servers by state.", "state")
	descChunks        = desc("granary_chunks", "Chunks by health.", "state")
	descQueuedCopies  = desc("granary_repair_queued_copies", "Under-replicated chunks waiting for a copy slot.")
	descInflight      = desc("granary_repair_inflight_copies", "Repair copies sent and not yet confirmed.")
	descQueuedBytes   = desc("granary_repair_queued_bytes", "Bytes of the repair copies waiting to be issued.")
	descInflightBytes = desc("granary_repair_inflight_bytes", "Bytes of the repair copies sent and not yet confirmed.")
	descRepairRate    = desc("granary_repair_bytes_per_second", "Repair copy bytes completed per second over the last 10 s.")
	descRepairETA     = desc("granary_repair_eta_seconds", "Time the queued and running repair copies would take at the current rate (0: none left, or no progress yet).")
	descInflightDels  = desc("granary_repair_inflight_deletes", "Deletions sent and not yet confirmed.")
	descCopiesIssued  = desc("granary_repair_copies_issued_total", "Repair copies issued by this leader.")
	descCopiesDone    = desc("granary_repair_copies_done_total", "Repair copies confirmed by this leader.")
	descDeletesIssued = desc("granary_repair_deletes_issued_total", "Deletions issued by this leader.")
	descOrphans       = desc("granary_orphans_collected_total", "Orphan chunks queued for deletion by this leader.")
	descBalanceMoves  = desc("granary_balance_moves_total", "Balancing moves started by this leader.")

	descLifecycleScanned    = desc("granary_lifecycle_scanned_total", "Versions and multipart uploads the lifecycle worker evaluated, on this leader.")
	descLifecycleExpired    = desc("granary_lifecycle_expired_total", "Current versions expired by lifecycle rules, on this leader.")
	descLifecycleNoncurrent = desc("granary_lifecycle_noncurrent_expired_total", "Noncurrent versions removed by lifecycle rules, on this leader.")
	descLifecycleMarkers    = desc("granary_lifecycle_delete_markers_removed_total", "Expired object delete markers removed by lifecycle rules, on this leader.")
	descLifecycleAborted    = desc("granary_lifecycle_uploads_aborted_total", "Incomplete multipart uploads aborted by lifecycle rules, on this leader.")
	descLifecycleSkipped    = desc("granary_lifecycle_skipped_total", "Due lifecycle actions not applied (a locked version, or one changed since evaluated), on this leader.")
	descHeartbeatAge        = desc("granary_chunkserver_heartbeat_age_seconds", "Time since each chunk server's last heartbeat, on the leader.", "server")
	descStoredLogical       = desc("granary_storage_logical_bytes", "Bytes written, by data policy, as of the last repair round.", "policy")
	descStoredOnDisk        = desc("granary_storage_stored_bytes", "Bytes on the chunk servers' disks (every copy or shard), by data policy, as of the last repair round.", "policy")

	descLifecyclePasses = desc("granary_lifecycle_passes_total", "Full lifecycle passes over the buckets with rules, on this leader.")
)

// stateCollector describes the member at scrape time. Chunk health and
// repair figures come from the leader only (followers do not track
// replicas).
type stateCollector struct{ s *Server }

// Describe implements prometheus.Collector.
func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range stateDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(descIsLeader, b2f(s.IsLeader()))
	gauge(descTerm, float64(s.raft.CurrentTerm()))
	gauge(descCommitIndex, float64(s.raft.CommitIndex()))
	gauge(descAppliedIndex, float64(s.fsm.Applied()))
	counter(descRan, float64(s.fsm.Ran()))
	counter(descSkipped, float64(s.fsm.Skipped()))
	state := s.raft.State()
	gauge(descRaftState, 1, state.String())
	if state != raft.Leader {
		return
	}
	safe, _ := s.heal.safeMode()
	gauge(descSafeMode, b2f(safe))
	if servers, err := s.nodes.statuses(); err == nil {
		counts := map[string]int{"alive": 0, "dead": 0, "draining": 0, "decommissioned": 0}
		for _, cs := range servers {
			counts[cs.State]++
		}
		for _, st := range []string{"alive", "dead", "draining", "decommissioned"} {
			gauge(descChunkServers, float64(counts[st]), st)
		}
		for _, cs := range servers {
			if cs.State != "decommissioned" {
				gauge(descHeartbeatAge, float64(cs.LastHeartbeatAgeMs)/1000, string(cs.ID))
			}
		}
	}
	for _, u := range s.heal.storageUsage() {
		gauge(descStoredLogical, float64(u.LogicalBytes), u.Policy)
		gauge(descStoredOnDisk, float64(u.StoredBytes), u.Policy)
	}
	if n, err := s.heal.chunkCounts(); err == nil {
		for state, v := range map[string]int{
			"total": n.Total, "under_replicated": n.UnderReplicated, "last_copy": n.LastCopy, "over_replicated": n.OverReplicated,
			"missing": n.Missing, "corrupt": n.Corrupt, "pending_delete": n.PendingDeletes, "degraded": n.Degraded,
		} {
			gauge(descChunks, float64(v), state)
		}
	}
	r := s.heal.repairStats()
	gauge(descQueuedCopies, float64(r.QueuedCopies))
	gauge(descInflight, float64(r.InflightCopies))
	gauge(descQueuedBytes, float64(r.QueuedBytes))
	gauge(descInflightBytes, float64(r.InflightBytes))
	gauge(descRepairRate, float64(r.BytesPerSecond))
	gauge(descRepairETA, float64(r.ETASeconds))
	gauge(descInflightDels, float64(r.InflightDeletes))
	counter(descCopiesIssued, float64(r.CopiesIssued))
	counter(descCopiesDone, float64(r.CopiesDone))
	counter(descDeletesIssued, float64(r.DeletesIssued))
	counter(descOrphans, float64(r.OrphansFound))
	counter(descBalanceMoves, float64(r.BalanceMoves))
	l := s.life.Progress()
	counter(descLifecycleScanned, float64(l.Scanned))
	counter(descLifecycleExpired, float64(l.Expired))
	counter(descLifecycleNoncurrent, float64(l.NoncurrentExpired))
	counter(descLifecycleMarkers, float64(l.MarkersRemoved))
	counter(descLifecycleAborted, float64(l.UploadsAborted))
	counter(descLifecycleSkipped, float64(l.Skipped))
	counter(descLifecyclePasses, float64(l.Passes))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// conversionProgress is the converter's progress on the leader (false
// elsewhere, or before the converter is wired).
func (s *Server) conversionProgress() (proto.ConversionStats, bool) {
	if s.raft == nil || s.raft.State() != raft.Leader || s.conv == nil {
		return proto.ConversionStats{}, false
	}
	return s.conv.Progress(), true
}
