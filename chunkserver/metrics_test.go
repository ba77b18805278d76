package chunkserver_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/internal/testcluster"
)

// scrape fetches and parses a process's /metrics.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/metrics: %s", addr, resp.Status)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s/metrics: %v", addr, err)
	}
	return fams
}

// value sums a counter's or gauge's samples, or a histogram's counts.
func value(fams map[string]*dto.MetricFamily, name string) float64 {
	var v float64
	for _, m := range fams[name].GetMetric() {
		switch {
		case m.Histogram != nil:
			v += float64(m.Histogram.GetSampleCount())
		case m.Counter != nil:
			v += m.Counter.GetValue()
		case m.Gauge != nil:
			v += m.Gauge.GetValue()
		}
	}
	return v
}

func TestMetricsFamiliesAndHistogramsMoveUnderLoad(t *testing.T) {
	c := testcluster.Start(t, testcluster.Options{
		Masters: 1, ChunkServers: 3, Racks: 3, ChunkSize: 64 << 10, Replication: 3,
		TuneChunk: func(cfg *chunkserver.Config) { cfg.Store.NoSync = false }, // fsyncs are measured
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cl := c.DataClient(nil)
	if err := cl.CreateBucket(ctx, "metrics"); err != nil {
		t.Fatal(err)
	}
	servers := c.ChunkServers()
	before := make([]map[string]*dto.MetricFamily, len(servers))
	for i, n := range servers {
		before[i] = scrape(t, n.Addr)
		for _, name := range []string{
			"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes",
			"granary_chunkserver_chunks", "granary_chunkserver_used_bytes", "granary_chunkserver_capacity_bytes",
			"granary_chunkserver_corrupt_chunks", "granary_chunkserver_copies_done_total", "granary_chunkserver_queued_commands",
			"granary_chunkserver_copied_bytes_total", "granary_chunkserver_failed_dirs", "granary_chunkserver_scrub_progress_ratio",
			"granary_chunkserver_read_seconds", "granary_chunkserver_write_seconds", "granary_chunkserver_fsync_seconds",
			"granary_chunkserver_read_bytes_total", "granary_chunkserver_written_bytes_total",
		} {
			if before[i][name] == nil {
				t.Errorf("%s: no %s", n.ID, name)
			}
		}
		if got := before[i]["granary_chunkserver_read_seconds"].GetType(); got != dto.MetricType_HISTOGRAM {
			t.Errorf("%s: granary_chunkserver_read_seconds is a %v", n.ID, got)
		}
	}

	const objects, size = 5, 21000 // one chunk each, on all three servers
	for i := range objects {
		data := bytes.Repeat([]byte{byte(i), 0x5a, 0xa5}, size/3)
		key := fmt.Sprintf("obj%d", i)
		if _, err := cl.Put(ctx, "metrics", key, bytes.NewReader(data), int64(len(data)), nil); err != nil {
			t.Fatal(err)
		}
		rc, err := cl.Get(ctx, "metrics", key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s read back wrong: %v", key, err)
		}
	}

	var reads, readBytes float64
	for i, n := range servers {
		after := scrape(t, n.Addr)
		for _, name := range []string{"granary_chunkserver_write_seconds", "granary_chunkserver_fsync_seconds"} {
			if d := value(after, name) - value(before[i], name); d < objects {
				t.Errorf("%s: %s count grew by %v after %d writes", n.ID, name, d, objects)
			}
		}
		if d := value(after, "granary_chunkserver_written_bytes_total") - value(before[i], "granary_chunkserver_written_bytes_total"); d < objects*size {
			t.Errorf("%s: %v bytes written counted, want at least %d", n.ID, d, objects*size)
		}
		if got := value(after, "granary_chunkserver_chunks"); got < objects {
			t.Errorf("%s: granary_chunkserver_chunks %v, want %d", n.ID, got, objects)
		}
		reads += value(after, "granary_chunkserver_read_seconds") - value(before[i], "granary_chunkserver_read_seconds")
		readBytes += value(after, "granary_chunkserver_read_bytes_total") - value(before[i], "granary_chunkserver_read_bytes_total")
	}
	if reads < objects || readBytes < objects*size {
		t.Errorf("the servers counted %v reads of %v bytes, want at least %d of %d", reads, readBytes, objects, objects*size)
	}
}
