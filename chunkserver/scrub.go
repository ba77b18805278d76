package chunkserver

import (
	"errors"
	"github.com/granary-store/granary/internal/proto"
	"math"
	"time"

	"github.com/granary-store/granary/chunkserver/disk"
)

// scrubLoop re-verifies every chunk, at most ScrubRate bytes per second,
// and queues corrupt ones for the next heartbeat. A pass that finishes
// early waits for ScrubInterval before the next.
func (s *Server) scrubLoop() {
	for {
		start := time.Now()
		var verified int64
		list := s.store.List()
		for i, c := range list {
			s.scrubProgress.Store(math.Float64bits(float64(i) / float64(len(list))))
			err := s.store.Verify(c.ID)
			if errors.Is(err, disk.ErrCorrupt) {
				s.log.Warn("scrubber found a corrupt chunk", "chunk", c.ID, "err", err)
				s.noteCorrupt(proto.ChunkID(c.ID))
			}
			s.metrics.diskError("scrub", err)
			verified += c.Size
			if !paceUntil(start, verified, s.cfg.ScrubRate, s.done) {
				return
			}
		}
		s.scrubProgress.Store(math.Float64bits(1))
		s.lastFullScrub.Store(time.Now().UnixNano())
		select {
		case <-s.done:
			return
		case <-time.After(max(s.cfg.ScrubInterval-time.Since(start), 0)):
		}
	}
}

// sweepLoop checks every SweepInterval that each chunk's file is still
// there and each data dir still answers (disk.Store.Sweep); what it finds
// lost goes out with the next heartbeat as removed.
func (s *Server) sweepLoop() {
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		if _, err := s.store.Sweep(); err != nil && !errors.Is(err, disk.ErrClosed) {
			s.log.Warn("sweep", "err", err)
		}
	}
}

// paceUntil sleeps until n bytes since start are within rate bytes per
// second; it reports false, at once, when done closes.
func paceUntil(start time.Time, n, rate int64, done <-chan struct{}) bool {
	return sleep(time.Duration(float64(n)/float64(rate)*float64(time.Second))-time.Since(start), done)
}

// sleep waits d, or less when done closes first; it reports whether the
// wait ran out (false: done closed). A d <= 0 waits for nothing but still
// reports a closed done.
func sleep(d time.Duration, done <-chan struct{}) bool {
	if d <= 0 {
		select {
		case <-done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return false
	case <-t.C:
		return true
	}
}

func (s *Server) noteCorrupt(id proto.ChunkID) {
	s.mu.Lock()
	s.corrupt = append(s.corrupt, id)
	s.mu.Unlock()
}
