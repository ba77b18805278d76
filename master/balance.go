package master

import "github.com/granary-store/granary/master/repair"

// balance issues the moves repair.Balance plans when the alive servers'
// usage ratios differ by more than BalanceThreshold, and keeps them until
// finishMoves deletes their old replicas. Called with no repair work
// outstanding.
func (s *Server) balance(in *repair.Input) error {
	s.heal.mu.Lock()
	defer s.heal.mu.Unlock()
	if len(s.heal.moves) > 0 || !repair.Unbalanced(in.Servers, s.cfg.BalanceThreshold) {
		return nil
	}
	sizes, err := s.fsm.ChunkSizes()
	if err != nil {
		return err
	}
	moves, cmds := repair.Balance(in, sizes, s.cfg.BalanceThreshold, s.cfg.MaxRepairPerRound)
	s.heal.send(cmds)
	s.heal.moves = append(s.heal.moves, moves...)
	s.heal.stats.BalanceMoves += int64(len(moves))
	return nil
}

// finishMoves deletes the old replica of every move whose copy is
// reported, and forgets moves whose copy was abandoned. The caller holds
// s.heal.mu.
func (s *Server) finishMoves(in *repair.Input) {
	keep, cmds := repair.FinishMoves(in, s.heal.moves)
	s.heal.send(cmds)
	s.heal.moves = keep
}
