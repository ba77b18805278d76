package master

import (
	"github.com/hashicorp/raft"

	"github.com/granary-store/granary/internal/metrics"
)

// collectMetrics describes this member for a Prometheus scrape. Chunk
// health and repair figures come from the leader only (followers do not
// track replicas).
func (s *Server) collectMetrics(m *metrics.Set) {
	leader := 0.0
	if s.IsLeader() {
		leader = 1
	}
	m.Gauge("granary_master_is_leader", "1 when this member is the ready leader.", leader)
	m.Gauge("granary_raft_term", "Current Raft term.", float64(s.raft.CurrentTerm()))
	m.Gauge("granary_raft_commit_index", "Raft commit index.", float64(s.raft.CommitIndex()))
	m.Gauge("granary_raft_applied_index", "Last index applied to the state.", float64(s.fsm.Applied()))
	m.Counter("granary_fsm_entries_run_total", "Log entries this process ran against the state.", float64(s.fsm.Ran()))
	m.Counter("granary_fsm_entries_skipped_total", "Replayed log entries the state already held.", float64(s.fsm.Skipped()))
	m.Gauge("granary_raft_state", "Raft state of this member.", 1, "state", s.raft.State().String())
	if s.raft.State() != raft.Leader {
		return
	}
	safe, _ := s.heal.safeMode()
	m.Gauge("granary_safe_mode", "1 while the leader holds repair and deletion back.", b2f(safe))
	if servers, err := s.nodes.statuses(); err == nil {
		counts := map[string]int{"alive": 0, "dead": 0, "draining": 0, "decommissioned": 0}
		for _, cs := range servers {
			counts[cs.State]++
		}
		for _, st := range []string{"alive", "dead", "draining", "decommissioned"} {
			m.Gauge("granary_chunkservers", "Chunk servers by state.", float64(counts[st]), "state", st)
		}
	}
	if c, err := s.heal.chunkCounts(); err == nil {
		for state, n := range map[string]int{
			"total": c.Total, "under_replicated": c.UnderReplicated, "last_copy": c.LastCopy, "over_replicated": c.OverReplicated,
			"missing": c.Missing, "corrupt": c.Corrupt, "pending_delete": c.PendingDeletes,
		} {
			m.Gauge("granary_chunks", "Chunks by health.", float64(n), "state", state)
		}
	}
	r := s.heal.repairStats()
	m.Gauge("granary_repair_queued_copies", "Under-replicated chunks waiting for a copy slot.", float64(r.QueuedCopies))
	m.Gauge("granary_repair_inflight_copies", "Repair copies sent and not yet confirmed.", float64(r.InflightCopies))
	m.Gauge("granary_repair_queued_bytes", "Bytes of the repair copies waiting to be issued.", float64(r.QueuedBytes))
	m.Gauge("granary_repair_inflight_bytes", "Bytes of the repair copies sent and not yet confirmed.", float64(r.InflightBytes))
	m.Gauge("granary_repair_bytes_per_second", "Repair copy bytes completed per second over the last 10 s.", float64(r.BytesPerSecond))
	m.Gauge("granary_repair_eta_seconds", "Time the queued and running repair copies would take at the current rate (0: none left, or no progress yet).", float64(r.ETASeconds))
	m.Gauge("granary_repair_inflight_deletes", "Deletions sent and not yet confirmed.", float64(r.InflightDeletes))
	m.Counter("granary_repair_copies_issued_total", "Repair copies issued by this leader.", float64(r.CopiesIssued))
	m.Counter("granary_repair_copies_done_total", "Repair copies confirmed by this leader.", float64(r.CopiesDone))
	m.Counter("granary_repair_deletes_issued_total", "Deletions issued by this leader.", float64(r.DeletesIssued))
	m.Counter("granary_orphans_collected_total", "Orphan chunks queued for deletion by this leader.", float64(r.OrphansFound))
	m.Counter("granary_balance_moves_total", "Balancing moves started by this leader.", float64(r.BalanceMoves))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
