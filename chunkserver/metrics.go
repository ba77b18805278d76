package chunkserver

import "github.com/granary-store/granary/internal/metrics"

// collectMetrics describes this chunk server for a Prometheus scrape.
func (s *Server) collectMetrics(m *metrics.Set) {
	used, capacity, _ := s.store.Usage() // capacity within CapacityLimit
	chunks, corrupt := s.store.Len()
	m.Gauge("granary_chunkserver_chunks", "Chunks stored.", float64(chunks))
	m.Gauge("granary_chunkserver_used_bytes", "Bytes used by chunks.", float64(used))
	m.Gauge("granary_chunkserver_capacity_bytes", "Capacity offered.", float64(capacity))
	m.Gauge("granary_chunkserver_corrupt_chunks", "Chunks found corrupt and not yet replaced.", float64(corrupt))
	m.Counter("granary_chunkserver_copies_done_total", "Repair copies completed.", float64(s.copiesDone.Load()))
	m.Gauge("granary_chunkserver_queued_commands", "Master commands waiting to run.", float64(len(s.cmds)))
}
