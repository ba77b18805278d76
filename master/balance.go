package master

import "github.com/granary-store/granary/master/repair"

// balance issues the moves repair.Balance plans when the alive servers'
// usage ratios differ by more than BalanceThreshold, and keeps them until
// finishMoves deletes their old replicas. Called with no repair work
// outstanding.
func (h *healer) balance(in *repair.Input) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.moves) > 0 || !repair.Unbalanced(in.Servers, h.cfg.BalanceThreshold) {
		return nil
	}
	sizes, err := h.fsm.ChunkSizes()
	if err != nil {
		return err
	}
	moves, cmds := repair.Balance(in, sizes, h.cfg.BalanceThreshold, h.cfg.MaxRepairPerRound)
	h.send(cmds)
	h.moves = append(h.moves, moves...)
	h.stats.BalanceMoves += int64(len(moves))
	return nil
}

// finishMoves deletes the old replica of every move whose copy is
// reported, and forgets moves whose copy was abandoned. The caller holds
// h.mu.
func (h *healer) finishMoves(in *repair.Input) {
	keep, cmds := repair.FinishMoves(in, h.moves)
	h.send(cmds)
	h.moves = keep
}
