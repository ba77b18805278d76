package chunkserver

import (
	"context"
	"fmt"
	"io"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/tracing"
)

// WriteLocal stores chunk id, exactly n bytes read from r, as a write to
// this server's data plane that ends the pipeline here would: through the
// chunk store (checksummed block by block, durable before WriteLocal
// returns nil), counted in the metrics, and reported to the master with
// the next heartbeat. It is for a client in this process (granary server's
// gateway), which then needs neither a socket nor a copy through the
// kernel for the replicas on this host. Errors name this server, as the
// data plane's do. With tracing on, the write is a span of ctx's trace.
func (s *Server) WriteLocal(ctx context.Context, id proto.ChunkID, r io.Reader, n int64) error {
	commit, err := s.StartLocal(ctx, id, r, n)
	if err != nil {
		return err
	}
	return commit()
}

// StartLocal is WriteLocal in two steps: it returns once the chunk is
// written, and commit, called exactly once after a nil error, returns
// once it is durable (or why it is not). A writer of several replicas on
// this host starts each and then commits each, and their fsyncs overlap.
func (s *Server) StartLocal(ctx context.Context, id proto.ChunkID, r io.Reader, n int64) (commit func() error, err error) {
	_, end := tracing.StartInternal(ctx, "chunkserver", "local write")
	defer func() {
		if err != nil && end != nil {
			end(0, err)
		}
	}()
	if n < 0 {
		return nil, s.fault(fmt.Errorf("chunk %d: a local write needs its length: %w", id, errBadRequest))
	}
	cw, err := s.store.Create(uint64(id), n)
	if err != nil {
		s.metrics.diskError("write", err)
		return nil, s.fault(err)
	}
	// Straight into the store's writer: a reader that can write itself
	// (a bytes.Reader) does so in one call, one copy. More than n bytes
	// fail the writer's declared size.
	got, err := io.Copy(cw, r)
	switch {
	case err != nil:
		s.metrics.diskError("write", err)
		err = fmt.Errorf("chunk %d: local write: %w", id, err)
	case got != n:
		err = fmt.Errorf("chunk %d: local write cut short at %d of %d bytes: %w", id, got, n, errBadRequest)
	default:
		if err = cw.Stage(); err != nil {
			s.metrics.diskError("write", err)
		}
	}
	if err != nil {
		cw.Abort()
		return nil, s.fault(err)
	}
	return func() (err error) {
		if end != nil {
			defer func() { end(0, err) }()
		}
		if err := cw.Commit(); err != nil {
			s.metrics.diskError("write", err)
			return s.fault(err)
		}
		s.metrics.writtenBytes.Add(float64(n))
		s.noteAdded(id)
		return nil
	}, nil
}
