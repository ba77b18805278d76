package master_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/granary-store/granary/internal/proto"
)

// parseMetrics parses a scrape with the Prometheus text parser.
func parseMetrics(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse the scrape: %v\n%s", err, text)
	}
	return fams
}

// histogramCount is the number of observations of the series of family
// name whose labels include want.
func histogramCount(fams map[string]*dto.MetricFamily, name string, want map[string]string) uint64 {
	var n uint64
	for _, m := range fams[name].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if match {
			n += m.GetHistogram().GetSampleCount()
		}
	}
	return n
}

func TestMetricsFamiliesAndLatencyHistograms(t *testing.T) {
	c, cl := healCluster(t, 3, 3, nil, nil)
	leader := c.Leader()
	var follower string
	for _, n := range c.Nodes() {
		if n != leader {
			follower = n.HTTPAddr
		}
	}
	before := parseMetrics(t, scrapeMetrics(t, leader.HTTPAddr))
	for _, name := range []string{
		"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes",
		"granary_master_is_leader", "granary_raft_term", "granary_raft_commit_index", "granary_raft_applied_index",
		"granary_fsm_entries_run_total", "granary_fsm_entries_skipped_total", "granary_raft_state", "granary_safe_mode",
		"granary_chunkservers", "granary_chunks", "granary_repair_queued_copies", "granary_repair_inflight_copies",
		"granary_repair_queued_bytes", "granary_repair_inflight_bytes", "granary_repair_bytes_per_second",
		"granary_repair_eta_seconds", "granary_repair_inflight_deletes", "granary_repair_copies_issued_total",
		"granary_repair_copies_done_total", "granary_repair_deletes_issued_total", "granary_orphans_collected_total",
		"granary_balance_moves_total", "granary_master_apply_seconds", "granary_master_http_request_duration_seconds",
		"granary_chunkserver_heartbeat_age_seconds",
	} {
		if before[name] == nil {
			t.Errorf("the leader exports no %s", name)
		}
	}
	if got := before["granary_master_is_leader"].GetMetric()[0].GetGauge().GetValue(); got != 1 {
		t.Errorf("granary_master_is_leader %v on the leader", got)
	}
	// A follower exports its own figures, not the leader's.
	fol := parseMetrics(t, scrapeMetrics(t, follower))
	if fol["granary_chunks"] != nil || fol["go_goroutines"] == nil || fol["granary_raft_state"] == nil {
		t.Errorf("a follower's families: chunks %v, go_goroutines %v, raft_state %v",
			fol["granary_chunks"] != nil, fol["go_goroutines"] != nil, fol["granary_raft_state"] != nil)
	}

	const objects = 5
	putMany(t, cl, objects)
	// An unknown path is counted under the bounded route "other".
	resp, err := http.Get("http://" + leader.HTTPAddr + proto.APIPrefix + "/no/such/route")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	after := parseMetrics(t, scrapeMetrics(t, leader.HTTPAddr))
	if n := len(before["granary_chunkserver_heartbeat_age_seconds"].GetMetric()); n != 3 {
		t.Errorf("heartbeat ages of %d chunk servers, want 3", n)
	}
	// Storage by policy appears once a repair round has counted the puts.
	c.WaitFor(20*time.Second, "storage by policy in the metrics", func() bool {
		m := parseMetrics(t, scrapeMetrics(t, leader.HTTPAddr))
		return m["granary_storage_logical_bytes"] != nil && m["granary_storage_stored_bytes"] != nil
	})
	commits := map[string]string{"op": "putObject"}
	if d := histogramCount(after, "granary_master_apply_seconds", commits) - histogramCount(before, "granary_master_apply_seconds", commits); d < objects {
		t.Errorf("apply of putObject counted %d times after %d puts", d, objects)
	}
	route := map[string]string{"route": proto.RouteObjectCommit, "method": "post", "code": "200"}
	if d := histogramCount(after, "granary_master_http_request_duration_seconds", route) -
		histogramCount(before, "granary_master_http_request_duration_seconds", route); d < objects {
		t.Errorf("%v counted %d times after %d puts", route, d, objects)
	}
	if histogramCount(after, "granary_master_http_request_duration_seconds", map[string]string{"route": "other", "code": "404"}) == 0 {
		t.Error("an unknown route is not counted as other")
	}
	// The label set stays bounded: routes are templates, never paths.
	for _, m := range after["granary_master_http_request_duration_seconds"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && strings.Contains(l.GetValue(), "no/such") {
				t.Errorf("route label %q is a raw path", l.GetValue())
			}
		}
	}
	c.WaitFor(10*time.Second, "the chunk count in the metrics", func() bool {
		for _, m := range parseMetrics(t, scrapeMetrics(t, leader.HTTPAddr))["granary_chunks"].GetMetric() {
			if m.GetLabel()[0].GetValue() == "total" {
				return m.GetGauge().GetValue() >= objects
			}
		}
		return false
	})
}
