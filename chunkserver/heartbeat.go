package chunkserver

import (
	"context"
	"math"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// heartbeatLoop registers with the master, then heartbeats every interval
// until the server closes. The first heartbeat after (re)registration, any
// the master asks for, and one every FullReportInterval carry the full
// chunk list; the others carry the changes since the last one delivered.
func (s *Server) heartbeatLoop() {
	registered, needFull := false, true
	lastFull := time.Time{}
	interval := s.cfg.HeartbeatInterval
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if !s.waitUnpaused(s.done) {
			return
		}
		if !registered {
			registered = s.register()
			needFull = true
		}
		if registered {
			full := needFull || time.Since(lastFull) >= s.cfg.FullReportInterval
			reply, err := s.heartbeat(full)
			switch {
			case err != nil:
				s.log.Warn("heartbeat failed", "err", err)
			case !reply.Registered:
				registered = false
				continue
			default:
				if full {
					lastFull = time.Now()
				}
				needFull = reply.NeedFullReport
				s.enqueue(reply.Commands)
				if want := time.Duration(reply.IntervalMs) * time.Millisecond; want >= 10*time.Millisecond && want != interval {
					interval = want // the master's --heartbeat-interval rules
					tick.Reset(interval)
					s.log.Info("heartbeat interval set by the master", "interval", interval)
				}
			}
		}
		select {
		case <-s.done:
			return
		case <-tick.C:
		case <-s.nudge:
			// A copy finished: report it and take more work without
			// waiting out the interval, but at most every minGap.
			t := time.NewTimer(minGap)
			select {
			case <-s.done:
				t.Stop()
				return
			case <-t.C:
			}
		}
	}
}

// minGap is the least time between a nudged heartbeat and the one before.
const minGap = 50 * time.Millisecond

// nudgeHeartbeat asks for a heartbeat soon.
func (s *Server) nudgeHeartbeat() {
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}

func (s *Server) callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.life, 2*s.cfg.HeartbeatInterval+5*time.Second)
}

func (s *Server) register() bool {
	ctx, cancel := s.callCtx()
	defer cancel()
	err := s.master.Register(ctx, proto.RegisterRequest{ID: s.cfg.ID, Address: s.cfg.Advertise, Rack: s.cfg.Rack})
	if err != nil {
		s.log.Warn("register with master failed", "err", err)
		return false
	}
	s.log.Info("registered with master")
	return true
}

// heartbeat sends one report. Changes are taken out of the queue only when
// the master accepted them; a full report replaces them.
func (s *Server) heartbeat(full bool) (proto.HeartbeatReply, error) {
	used, capacity, err := s.store.Usage()
	if err != nil {
		s.log.Warn("disk usage", "err", err)
	}
	lost := s.store.TakeLost()
	s.mu.Lock()
	for _, id := range lost {
		s.removed = append(s.removed, proto.ChunkID(id))
	}
	added, removed, corrupt, failed := s.added, s.removed, s.corrupt, s.failedCopies
	s.added, s.removed, s.corrupt, s.failedCopies = nil, nil, nil, nil
	s.mu.Unlock()
	hb := proto.HeartbeatRequest{ID: s.cfg.ID, UsedBytes: used, CapacityBytes: capacity, Full: full, Corrupt: corrupt, Failed: failed,
		FailedDirs: s.store.FailedDirs(), CopiedBytes: s.copiedBytes.Load(), QueuedCommands: len(s.cmds),
		ScrubProgress: math.Float64frombits(s.scrubProgress.Load())}
	if ns := s.lastFullScrub.Load(); ns > 0 {
		hb.LastFullScrub = time.Unix(0, ns).UTC()
	}
	hb.Chunks, _ = s.store.Len()
	if full {
		list := s.store.List()
		hb.Chunks = len(list) // the count that goes with the report
		hb.Report, hb.ReportSizes = make([]proto.ChunkID, len(list)), make([]int64, len(list))
		for i, c := range list {
			hb.Report[i], hb.ReportSizes[i] = proto.ChunkID(c.ID), c.Size
		}
	} else {
		hb.Added, hb.Removed = added, removed
		hb.AddedSizes = make([]int64, len(added))
		for i, id := range added {
			hb.AddedSizes[i], _ = s.store.Size(uint64(id))
		}
	}
	ctx, cancel := s.callCtx()
	defer cancel()
	reply, err := s.master.Heartbeat(ctx, hb)
	if err != nil {
		s.mu.Lock() // put the news back for the next try
		if !full {
			s.added, s.removed = append(added, s.added...), append(removed, s.removed...)
		}
		s.corrupt, s.failedCopies = append(corrupt, s.corrupt...), append(failed, s.failedCopies...)
		s.mu.Unlock()
	}
	return reply, err
}
