package mount

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// stats are the mount's counters.
type stats struct {
	ops, lists, commits, renames, errors  atomic.Int64
	spools, streams, evictions            atomic.Int64
	inodes                                atomic.Int64 // nodes the kernel has not forgotten
	readBytes, writeBytes, readAheadBytes atomic.Int64
}

// Metrics returns the Prometheus exposition of the mount's counters and
// gauges (read from its own state at each scrape: no background work),
// with the Go runtime and process collectors, on a registry of its own.
func (s *Server) Metrics() http.Handler {
	m := s.m
	reg := prometheus.NewRegistry()
	counter := func(name, help string, v *atomic.Int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	reg.MustRegister(
		counter("granary_mount_ops_total", "FUSE requests served.", &m.stats.ops),
		counter("granary_mount_lists_total", "Listings asked of the master.", &m.stats.lists),
		counter("granary_mount_commits_total", "Objects committed (close, fsync, attribute changes).", &m.stats.commits),
		counter("granary_mount_renames_total", "Keys renamed.", &m.stats.renames),
		counter("granary_mount_errors_total", "Requests failed with an unexpected error.", &m.stats.errors),
		counter("granary_mount_spooled_files_total", "Open files moved to the local spool.", &m.stats.spools),
		counter("granary_mount_streamed_files_total", "Files streamed straight into the store.", &m.stats.streams),
		counter("granary_mount_inode_evictions_total", "Inodes dropped from the kernel cache past the cap.", &m.stats.evictions),
		counter("granary_mount_read_bytes_total", "Bytes read through the mount.", &m.stats.readBytes),
		counter("granary_mount_written_bytes_total", "Bytes written through the mount.", &m.stats.writeBytes),
		counter("granary_mount_readahead_bytes_total", "Bytes fetched ahead of sequential readers.", &m.stats.readAheadBytes),
		gauge("granary_mount_inodes", "Inodes in the table (known to the kernel).", func() float64 { return float64(m.stats.inodes.Load()) }),
		gauge("granary_mount_spool_bytes", "Local disk reserved by the spool.", func() float64 { return float64(m.spool.inUse()) }),
		gauge("granary_mount_spool_limit_bytes", "The spool's limit.", func() float64 { return float64(m.spool.max) }),
		gauge("granary_mount_memory_bytes", "Memory reserved by write buffers and read-ahead.", func() float64 { return float64(m.mem.inUse()) }),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
