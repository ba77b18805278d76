package master

import (
	"maps"
	"slices"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/placement"
)

// balance moves chunks from full servers to empty ones when their usage
// ratios differ by more than BalanceThreshold. A move is a copy to the new
// server; the old replica is deleted only after the copy is reported, so
// redundancy never drops. Called with no repair work outstanding.
func (s *Server) balance(in *planInput) error {
	s.heal.mu.Lock()
	defer s.heal.mu.Unlock()
	if len(s.heal.moves) > 0 || !unbalanced(in.servers, s.cfg.BalanceThreshold) {
		return nil
	}
	sizes, err := s.fsm.chunkSizes()
	if err != nil {
		return err
	}
	var chunks []placement.ChunkInfo
	for _, c := range slices.Sorted(maps.Keys(in.refs)) {
		chunks = append(chunks, placement.ChunkInfo{ID: c, Size: sizes[c], Holders: in.holders[c]})
	}
	for _, m := range placement.PlanBalance(in.servers, chunks, s.cfg.BalanceThreshold, s.cfg.MaxRepairPerRound) {
		s.heal.outbox[m.To] = append(s.heal.outbox[m.To], proto.Command{Op: proto.CmdCopy, Chunk: m.Chunk,
			Source: proto.Target{ID: m.From, Address: in.addrs[m.From]}})
		if s.heal.inflight.copies[m.Chunk] == nil {
			s.heal.inflight.copies[m.Chunk] = map[string]copyOp{}
		}
		s.heal.inflight.copies[m.Chunk][m.To] = copyOp{source: m.From, at: in.now}
		s.heal.moves = append(s.heal.moves, m)
		s.heal.stats.BalanceMoves++
	}
	return nil
}

// finishMoves deletes the old replica of every move whose copy is
// reported, and forgets moves whose copy was abandoned. The caller holds
// s.heal.mu.
func (s *Server) finishMoves(in *planInput) {
	keep := s.heal.moves[:0]
	for _, m := range s.heal.moves {
		_, copying := s.heal.inflight.copies[m.Chunk][m.To]
		switch {
		case slices.Contains(in.holders[m.Chunk], m.To):
			s.heal.outbox[m.From] = append(s.heal.outbox[m.From], proto.Command{Op: proto.CmdDelete, Chunk: m.Chunk})
			if s.heal.inflight.deletes[m.Chunk] == nil {
				s.heal.inflight.deletes[m.Chunk] = map[string]time.Time{}
			}
			s.heal.inflight.deletes[m.Chunk][m.From] = in.now
		case copying:
			keep = append(keep, m)
		}
	}
	s.heal.moves = keep
}

// unbalanced reports whether the alive servers' usage ratios spread wider
// than threshold.
func unbalanced(servers []placement.Server, threshold float64) bool {
	lo, hi, n := 2.0, -1.0, 0
	for _, sv := range servers {
		if sv.State != placement.Alive || sv.Capacity <= 0 {
			continue
		}
		r := float64(sv.Used) / float64(sv.Capacity)
		lo, hi, n = min(lo, r), max(hi, r), n+1
	}
	return n > 1 && hi-lo > threshold
}
