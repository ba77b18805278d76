package master

// FailStateForTest marks the member's state machine failed, as a storage
// error in an apply would (there is no portable way to make Badger fail on
// demand in a test).
func (s *Server) FailStateForTest(err error) { s.fsm.Fail(err) }
