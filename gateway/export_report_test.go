package gateway

import (
	"context"
	"sync/atomic"

	"github.com/granary-store/granary/internal/proto"
)

// hangingSender never delivers a report: each attempt waits for its
// deadline, as a call to a master that stopped answering does.
type hangingSender struct{ attempts atomic.Int64 }

func (h *hangingSender) ReportGateway(ctx context.Context, _ proto.GatewayReport) error {
	h.attempts.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

// HangReports makes the gateway's reports hang until their deadline; call
// it before Run. It returns the count of attempts so far.
func HangReports(s *Server) func() int64 {
	h := &hangingSender{}
	s.report.SetSender(h)
	return h.attempts.Load
}
