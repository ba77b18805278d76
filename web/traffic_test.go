package web

import (
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
)

// gw is a gateway report as the leader lists it.
func gw(id, addr string, ageMs, reads, writes, errs4, errs5, in, out int64) client.Gateway {
	return client.Gateway{GatewayReport: client.GatewayReport{ID: id, Address: addr, Started: t0, Traffic: []client.S3Traffic{
		{Class: "read", Requests: map[string]int64{"2xx": reads, "4xx": errs4}, BytesOut: out},
		{Class: "write", Requests: map[string]int64{"2xx": writes, "5xx": errs5}, BytesIn: in},
	}}, LastReportAgeMs: ageMs}
}

// The overview shows S3 rates from the differences of each gateway's
// successive reports over the time between them (the reports' own times,
// not the snapshots'), summed over gateways; a report read twice counts
// once, the first report of a gateway that started long ago gives no
// rate yet, a silent gateway's rate is not shown as current, and the
// gateways page lists each one.
func TestS3Rates(t *testing.T) {
	fake := newFake().healthy(3)
	fake.status.Gateways = []client.Gateway{gw("gw-a", "10.0.0.1:9000", 0, 100, 10, 0, 0, 1000, 50000)}
	hs := newHarness(t, fake)
	b := hs.browser()
	b.loginRoot()
	_, body := b.get("/")
	for _, want := range []string{`id="s3-gateways">1<`, `id="s3-rps">measuring…<`} {
		if !strings.Contains(body, want) {
			t.Errorf("%q not in the first overview:\n%s", want, body)
		}
	}
	// The same report, seen again 2 s later: no new point, no rate.
	hs.clock.add(2 * time.Second)
	fake.set(func(f *fakeCluster) { f.status.Gateways[0].LastReportAgeMs = 2000 })
	if _, body = b.get("/?fragment=1"); !strings.Contains(body, `id="s3-rps">measuring…<`) {
		t.Errorf("a report read twice made a rate:\n%s", body)
	}
	// 5 s after the first report, a new one (made 500 ms ago): 4.5 s
	// between them; 90 reads and 9 refused, 45 writes: 22 reads/s, 10
	// writes/s, 2 4xx/s; 4.5 MiB out is 1 MiB/s. A second gateway's
	// first report adds nothing yet (it started long ago).
	hs.clock.add(3 * time.Second)
	fake.set(func(f *fakeCluster) {
		f.status.Gateways = []client.Gateway{
			gw("gw-a", "10.0.0.1:9000", 500, 190, 55, 9, 0, 1000+45*1024, 50000+9*512*1024),
			gw("gw-b", "10.0.0.2:9000", 100, 1000, 0, 0, 0, 0, 0),
		}
		f.status.Gateways[1].Started = t0.Add(-time.Hour)
	})
	_, body = b.get("/?fragment=1")
	for _, want := range []string{`id="s3-gateways">2<`, `id="s3-rps">32/s<`, `id="s3-rps-read">22/s<`, `id="s3-rps-write">10/s<`,
		`id="s3-errors">2.0/s 4xx, 0/s 5xx<`, `id="s3-in">10.0 KiB/s<`, `id="s3-out">1.0 MiB/s<`} {
		if !strings.Contains(body, want) {
			t.Errorf("%q not in the overview", want)
		}
	}
	if t.Failed() {
		t.Logf("overview:\n%s", body)
	}
	_, body = b.get("/gateways")
	for _, want := range []string{`id="gateway-gw-a"`, "10.0.0.1:9000", "500ms ago", `id="gateway-gw-b"`, "measuring…", "<td>254</td>", "<td>9 / 0</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("%q not on the gateways page", want)
		}
	}
	// gw-a goes silent: its rate is no longer counted as current.
	hs.clock.add(30 * time.Second)
	fake.set(func(f *fakeCluster) {
		f.status.Gateways[0].LastReportAgeMs = 30500
		f.status.Gateways[1].LastReportAgeMs = 30100
	})
	_, body = b.get("/?fragment=1")
	if !strings.Contains(body, "(2 silent)") || !strings.Contains(body, `id="s3-rps">measuring…<`) {
		t.Errorf("silent gateways still count:\n%s", body)
	}
	// It stops being listed: an event says so.
	hs.clock.add(2 * time.Second)
	fake.set(func(f *fakeCluster) { f.status.Gateways = f.status.Gateways[1:] })
	_, body = b.get("/events")
	for _, want := range []string{"S3 gateway 10.0.0.2:9000 (gw-b) reporting", "S3 gateway 10.0.0.1:9000 (gw-a) stopped reporting"} {
		if !strings.Contains(body, want) {
			t.Errorf("%q not in the events", want)
		}
	}
	// A new leader knows no gateway until their next reports: no event.
	hs.clock.add(2 * time.Second)
	fake.set(func(f *fakeCluster) { f.status.Leader, f.status.Gateways = "m2", nil })
	if _, body = b.get("/events"); strings.Contains(body, "(gw-b) stopped reporting") {
		t.Errorf("a leader change made a gateway event:\n%s", body)
	}
}

// A gateway that started within the window has a rate from its first
// report: its counters were zero when it started.
func TestS3RateOfNewGateway(t *testing.T) {
	fake := newFake().healthy(3)
	fresh := gw("gw-new", "10.0.0.3:9000", 0, 40, 0, 0, 0, 0, 0)
	fresh.Started = t0.Add(-4 * time.Second)
	fake.status.Gateways = []client.Gateway{fresh}
	hs := newHarness(t, fake)
	b := hs.browser()
	b.loginRoot()
	if _, body := b.get("/"); !strings.Contains(body, `id="s3-rps-read">10/s<`) {
		t.Errorf("no rate from a new gateway's first report:\n%s", body)
	}
}

// The buckets page shows each bucket's counted contents, its policy and
// versioning, and "counting…" for a bucket the leader has not counted.
func TestBucketCountsShown(t *testing.T) {
	fake := newFake().healthy(3)
	counted := t0.Add(-time.Minute)
	fake.buckets = []client.Bucket{
		{Name: "logs", Created: t0, Replication: 3, Usage: &client.BucketUsage{Objects: 12, Versions: 12, LogicalBytes: 3 << 20, StoredBytes: 9 << 20, CountedAt: counted}},
		{Name: "media", Created: t0, Replication: 3, DataPolicy: "rs-4-2", Versioning: "Enabled",
			Usage: &client.BucketUsage{Objects: 2, Versions: 5, LogicalBytes: 4 << 30, StoredBytes: 6 << 30, CountedAt: counted.Add(30 * time.Second)}},
		{Name: "newest", Created: t0, Replication: 2},
	}
	hs := newHarness(t, fake)
	b := hs.browser()
	b.loginRoot()
	_, body := b.get("/buckets")
	for _, want := range []string{
		`data-objects="12"`, ">3.0 MiB<", ">9.0 MiB<", "<td>rep-3</td>", "<td>off</td>",
		`data-objects="2"`, "2 (5 versions)", ">4.0 GiB<", ">6.0 GiB<", "<td>rs-4-2</td>", "<td>Enabled</td>",
		"counting…", "<td>rep-2</td>", "the oldest count at 11:59:00 UTC",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("%q not on the buckets page", want)
		}
	}
	if t.Failed() {
		t.Logf("buckets page:\n%s", body)
	}
}
