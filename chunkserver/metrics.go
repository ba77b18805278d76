package chunkserver

import (
	"math"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/granary-store/granary/internal/proto"
)

// metrics is a chunk server's Prometheus registry (one per server, so that
// servers sharing a process do not share figures) and the instruments the
// data plane updates. Gauges of the server's state are read at scrape time
// by stateCollector. Safe for concurrent use.
type metrics struct {
	reg          *prometheus.Registry
	readSeconds  prometheus.Histogram
	writeSeconds prometheus.Histogram
	fsyncSeconds prometheus.Histogram
	readBytes    prometheus.Counter
	writtenBytes prometheus.Counter
	diskErrors   *prometheus.CounterVec
}

// latencyBuckets span 0.5 ms to about 16 s.
var latencyBuckets = prometheus.ExponentialBuckets(0.0005, 2, 16)

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		readSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "granary_chunkserver_read_seconds", Help: "Duration of chunk read requests.", Buckets: latencyBuckets,
		}),
		writeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "granary_chunkserver_write_seconds", Help: "Duration of chunk write requests, including the rest of the pipeline.", Buckets: latencyBuckets,
		}),
		fsyncSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "granary_chunkserver_fsync_seconds", Help: "Duration of fsyncs of chunk files and dirs.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		readBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "granary_chunkserver_read_bytes_total", Help: "Chunk bytes sent to readers.",
		}),
		writtenBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "granary_chunkserver_written_bytes_total", Help: "Chunk bytes received from writers and written locally.",
		}),
		diskErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "granary_chunkserver_disk_errors_total",
			Help: "Chunk store errors by operation (read, write, delete, scrub) and kind (io, corrupt, no_space).",
		}, []string{"op", "kind"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.readSeconds, m.writeSeconds, m.fsyncSeconds, m.readBytes, m.writtenBytes, m.diskErrors,
	)
	return m
}

// handler serves the registry.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// timed measures h into hist.
func timed(hist prometheus.Histogram, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h(w, r)
		hist.Observe(time.Since(start).Seconds())
	}
}

// observeSync is the chunk store's fsync hook (disk.Config.ObserveSync).
func (m *metrics) observeSync(took time.Duration) { m.fsyncSeconds.Observe(took.Seconds()) }

// diskError counts err (nil, or an error of the chunk store) when it is a
// fault of the disk rather than of the request: an I/O error, corruption or
// a full disk.
func (m *metrics) diskError(op string, err error) {
	if err == nil {
		return
	}
	kind := map[proto.Code]string{proto.CodeInternal: "io", proto.CodeCorrupt: "corrupt", proto.CodeNoSpace: "no_space"}[codeOf(err)]
	if kind != "" {
		m.diskErrors.WithLabelValues(op, kind).Inc()
	}
}

// stateCollector describes the server's state at scrape time.
type stateCollector struct{ s *Server }

var (
	descChunks       = prometheus.NewDesc("granary_chunkserver_chunks", "Chunks stored.", nil, nil)
	descUsed         = prometheus.NewDesc("granary_chunkserver_used_bytes", "Bytes used by chunks.", nil, nil)
	descCapacity     = prometheus.NewDesc("granary_chunkserver_capacity_bytes", "Capacity offered.", nil, nil)
	descCorrupt      = prometheus.NewDesc("granary_chunkserver_corrupt_chunks", "Chunks found corrupt and not yet replaced.", nil, nil)
	descCopiesDone   = prometheus.NewDesc("granary_chunkserver_copies_done_total", "Repair copies completed.", nil, nil)
	descRebuilds     = prometheus.NewDesc("granary_chunkserver_reconstructs_done_total", "Erasure-coded shards rebuilt (also counted in copies done).", nil, nil)
	descCopiedBytes  = prometheus.NewDesc("granary_chunkserver_copied_bytes_total", "Bytes of the repair copies completed.", nil, nil)
	descQueued       = prometheus.NewDesc("granary_chunkserver_queued_commands", "Master commands waiting to run.", nil, nil)
	descFailedDirs   = prometheus.NewDesc("granary_chunkserver_failed_dirs", "Data dirs found failed.", nil, nil)
	descScrub        = prometheus.NewDesc("granary_chunkserver_scrub_progress_ratio", "Fraction of the current scrub pass done (0 to 1).", nil, nil)
	descLastScrubbed = prometheus.NewDesc("granary_chunkserver_last_full_scrub_timestamp_seconds", "When the last full scrub pass ended (Unix time; 0: none yet).", nil, nil)
)

// Describe implements prometheus.Collector.
func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descChunks, descUsed, descCapacity, descCorrupt, descCopiesDone, descRebuilds,
		descCopiedBytes, descQueued, descFailedDirs, descScrub, descLastScrubbed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	used, capacity, _ := s.store.Usage() // capacity within CapacityLimit
	chunks, corrupt := s.store.Len()
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	counter := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}
	gauge(descChunks, float64(chunks))
	gauge(descUsed, float64(used))
	gauge(descCapacity, float64(capacity))
	gauge(descCorrupt, float64(corrupt))
	counter(descCopiesDone, float64(s.copiesDone.Load()))
	counter(descRebuilds, float64(s.reconstructsDone.Load()))
	counter(descCopiedBytes, float64(s.copiedBytes.Load()))
	gauge(descQueued, float64(len(s.cmds)))
	gauge(descFailedDirs, float64(len(s.store.FailedDirs())))
	gauge(descScrub, math.Float64frombits(s.scrubProgress.Load()))
	gauge(descLastScrubbed, float64(s.lastFullScrub.Load())/1e9)
}
