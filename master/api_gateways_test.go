package master_test

import (
	"errors"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// TestGatewayReports checks the leader's soft state of S3 gateways: a
// report shows in the list and in the status with its counters and age,
// a newer report replaces it, a bad report is refused and changes
// nothing, and a gateway that stops reporting is forgotten.
func TestGatewayReports(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{Masters: 3, Tune: func(cfg *master.Config) {
		cfg.GatewayExpiry = 2 * time.Second
	}})
	ctx := ctxT(t, 60*time.Second)
	cl := c.Client() // finds the leader: a follower forwards
	started := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rep := func(id string, reads int64) proto.GatewayReport {
		return proto.GatewayReport{ID: id, Address: "10.0.0.1:9000", Started: started, Traffic: []proto.S3Traffic{
			{Class: proto.S3ClassRead, Requests: map[string]int64{"2xx": reads, "4xx": 2}, BytesOut: 10 * reads},
			{Class: proto.S3ClassWrite, Requests: map[string]int64{"2xx": 1}, BytesIn: 100},
		}}
	}
	if err := cl.ReportGateway(ctx, rep("gw-a", 5)); err != nil {
		t.Fatal(err)
	}
	if err := cl.ReportGateway(ctx, rep("gw-a", 7)); err != nil {
		t.Fatal(err)
	}
	if err := cl.ReportGateway(ctx, rep("gw-b", 1)); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []proto.GatewayReport{
		{ID: "bad id!", Address: "x"},
		{ID: "gw-c", Traffic: []proto.S3Traffic{{Class: "evil"}}},
		{ID: "gw-c", Traffic: []proto.S3Traffic{{Class: "read"}, {Class: "read"}}},
		{ID: "gw-c", Traffic: []proto.S3Traffic{{Class: "read", Requests: map[string]int64{"2xx": -1}}}},
		{ID: "gw-c", Traffic: []proto.S3Traffic{{Class: "read", Requests: map[string]int64{"600": 1}}}},
		{ID: "gw-c", Traffic: []proto.S3Traffic{{Class: "read", BytesIn: -5}}},
	} {
		err := cl.ReportGateway(ctx, bad)
		if proto.CodeOf(err) != proto.CodeBadRequest {
			t.Errorf("report %+v: %v, want BadRequest", bad, err)
		}
	}
	gs, err := cl.Gateways(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 2 || gs[0].ID != "gw-a" || gs[1].ID != "gw-b" {
		t.Fatalf("gateways: %+v", gs)
	}
	a := gs[0]
	if a.Traffic[0].Requests["2xx"] != 7 || a.Traffic[0].BytesOut != 70 || !a.Started.Equal(started) || a.LastReportAgeMs < 0 || a.LastReportAgeMs > 10000 {
		t.Errorf("gateway a: %+v", a)
	}
	st, err := cl.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Gateways) != 2 {
		t.Errorf("status gateways: %+v", st.Gateways)
	}

	// gw-b keeps reporting, gw-a goes silent and is forgotten.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err := cl.ReportGateway(ctx, rep("gw-b", 2)); err != nil {
			t.Fatal(err)
		}
		gs, err := cl.Gateways(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(gs) == 1 && gs[0].ID == "gw-b" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("silent gateway not forgotten: %+v", gs)
		}
		select {
		case <-ctx.Done():
			t.Fatal(errors.New("context ended"))
		case <-time.After(200 * time.Millisecond): // the report period of this test's gateway
		}
	}
}
