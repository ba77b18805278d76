package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
)

// admin status lists the S3 gateways with their totals.
func TestStatusPrintsGateways(t *testing.T) {
	started := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st := client.Status{Leader: "m1", Gateways: []client.Gateway{{GatewayReport: client.GatewayReport{
		ID: "gw-1a2b", Address: "10.0.0.1:9000", Started: started, Traffic: []client.S3Traffic{
			{Class: "read", Requests: map[string]int64{"2xx": 40, "4xx": 2}, BytesOut: 3 << 20},
			{Class: "write", Requests: map[string]int64{"2xx": 7, "5xx": 1}, BytesIn: 5 << 10},
		}}, LastReportAgeMs: 1200}}}
	var b bytes.Buffer
	printStatus(&b, st)
	out := b.String()
	if !strings.Contains(out, "S3 GATEWAY") {
		t.Fatalf("no gateway table:\n%s", out)
	}
	row := strings.Fields(out[strings.Index(out, "10.0.0.1:9000"):])
	want := []string{"10.0.0.1:9000", "gw-1a2b", "2026-03-01T12:00:00Z", "50", "2", "1"}
	if len(row) < len(want) || strings.Join(row[:len(want)], " ") != strings.Join(want, " ") {
		t.Errorf("gateway row %q, want it to start with %q\n%s", row, want, out)
	}
	if !strings.Contains(out, "1200ms") {
		t.Errorf("no report age:\n%s", out)
	}
	var empty bytes.Buffer
	printStatus(&empty, client.Status{Leader: "m1"})
	if strings.Contains(empty.String(), "S3 GATEWAY") {
		t.Errorf("a gateway table without gateways:\n%s", empty.String())
	}
}
