package mount

import (
	"net/http"
	"sync/atomic"

	"github.com/granary-store/granary/internal/metrics"
)

// stats are the mount's counters.
type stats struct {
	ops, lists, commits, renames, errors  atomic.Int64
	spools, streams, evictions            atomic.Int64
	inodes                                atomic.Int64 // nodes the kernel has not forgotten
	readBytes, writeBytes, readAheadBytes atomic.Int64
}

// Metrics returns the Prometheus exposition of the mount's counters.
func (s *Server) Metrics() http.Handler {
	m := s.m
	return metrics.Handler(func(set *metrics.Set) {
		c := func(name, help string, v *atomic.Int64) { set.Counter(name, help, float64(v.Load())) }
		c("granary_mount_ops_total", "FUSE requests served", &m.stats.ops)
		c("granary_mount_lists_total", "listings asked of the master", &m.stats.lists)
		c("granary_mount_commits_total", "objects committed (close, fsync, attribute changes)", &m.stats.commits)
		c("granary_mount_renames_total", "keys renamed", &m.stats.renames)
		c("granary_mount_errors_total", "requests failed with an unexpected error", &m.stats.errors)
		c("granary_mount_spooled_files_total", "open files moved to the local spool", &m.stats.spools)
		c("granary_mount_streamed_files_total", "files streamed straight into the store", &m.stats.streams)
		c("granary_mount_inode_evictions_total", "inodes dropped from the kernel cache past the cap", &m.stats.evictions)
		c("granary_mount_read_bytes_total", "bytes read through the mount", &m.stats.readBytes)
		c("granary_mount_written_bytes_total", "bytes written through the mount", &m.stats.writeBytes)
		c("granary_mount_readahead_bytes_total", "bytes fetched ahead of sequential readers", &m.stats.readAheadBytes)
		set.Gauge("granary_mount_inodes", "inodes in the table (known to the kernel)", float64(m.stats.inodes.Load()))
		set.Gauge("granary_mount_spool_bytes", "local disk reserved by the spool", float64(m.spool.inUse()))
		set.Gauge("granary_mount_spool_limit_bytes", "the spool's limit", float64(m.spool.max))
		set.Gauge("granary_mount_memory_bytes", "memory reserved by write buffers and read-ahead", float64(m.mem.inUse()))
	})
}
