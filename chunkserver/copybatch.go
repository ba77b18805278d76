package chunkserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/granary-store/granary/chunkserver/disk"
	"github.com/granary-store/granary/internal/chunkclient"
	"github.com/granary-store/granary/internal/proto"
)

// batchIDs is every chunk a copy command names: Chunk, then More.
func batchIDs(cmd proto.Command) []proto.ChunkID {
	return append([]proto.ChunkID{cmd.Chunk}, cmd.More...)
}

// copyBatch fetches the chunks of a copy command with More from its source
// in one batch read (chunkclient.GetBatch) and stores each one verified
// (by the source's block checks and the record's status) and paced by the
// server's repair bandwidth, as copyChunk does for one. Each chunk is
// reported on its own: added once committed (or when already stored),
// failed otherwise (a chunk the source could not send, a disk error
// here), so one bad chunk does not fail the others; a stream that breaks
// fails the chunks not yet received. Commits run while the next chunks
// arrive, within the server's commit room (Server.room), so they share
// fsyncs instead of waiting for one each; read is called once the last
// chunk is read, before the commits end (the caller hands the copy slot
// on). It returns, once every commit has ended, how many chunks failed
// and the first cause.
func (s *Server) copyBatch(cmd proto.Command, read func()) (failed int, first error) {
	ids := batchIDs(cmd)
	var mu sync.Mutex // guards failed and first: commits report concurrently
	fail := func(ids []proto.ChunkID, err error) {
		s.log.Debug("repair copy failed", "chunk", ids[0], "chunks", len(ids), "from", cmd.Source.ID, "err", err)
		s.mu.Lock()
		s.failedCopies = append(s.failedCopies, ids...)
		s.mu.Unlock()
		mu.Lock()
		failed += len(ids)
		first = firstErr(first, fmt.Errorf("chunk %d: %w", ids[0], err))
		mu.Unlock()
	}
	// A bound on the whole batch, and a cut when one wait for the source
	// lasts IdleTimeout (a stalled source frees the slot long before).
	ctx, cancel := context.WithTimeoutCause(s.life, s.cfg.IdleTimeout*time.Duration(1+len(ids)),
		fmt.Errorf("batch of %d chunks took over %v", len(ids), s.cfg.IdleTimeout*time.Duration(1+len(ids))))
	defer cancel()
	ctx, idle, stop := newIdleCut(ctx, s.cfg.IdleTimeout)
	defer stop()
	idle.arm()
	br, err := s.peers.GetBatch(ctx, cmd.Source.Address, ids)
	idle.disarm()
	if err != nil {
		fail(ids, sourceErr(cmd.Source.ID, withCause(ctx, err)))
		return
	}
	var wg sync.WaitGroup
	defer wg.Wait() // every commit reports before the call returns
	defer read()
	defer br.Close()
	in := &throttled{r: &waited{r: br, cut: idle}, b: s.repairBW, done: s.done}
	for i, id := range ids {
		idle.arm()
		ch, err := br.Next()
		idle.disarm()
		var w *disk.Writer
		if err == nil {
			s.room.take(max(ch.Size, 0))
			if w, err = s.receive(br, in, ch, cmd.Source.ID); w == nil {
				s.room.give(max(ch.Size, 0))
			}
		}
		switch {
		case br.Err() != nil: // the stream broke: this chunk and the rest are lost
			fail(ids[i:], sourceErr(cmd.Source.ID, withCause(ctx, br.Err())))
			return
		case err != nil:
			fail(ids[i:i+1], err)
		case w == nil: // stored here already
			s.noteAdded(id)
		default:
			wg.Add(1)
			go func() { // owned by this call: joined before it returns
				defer wg.Done()
				defer s.room.give(ch.Size)
				s.commitCopy(w, ch, fail)
			}()
		}
	}
	return
}

// commitCopy commits a received chunk and reports it.
func (s *Server) commitCopy(w *disk.Writer, ch chunkclient.BatchChunk, fail func([]proto.ChunkID, error)) {
	if err := w.Commit(); err != nil {
		fail([]proto.ChunkID{ch.ID}, err)
		return
	}
	s.copiesDone.Add(1)
	s.copiedBytes.Add(ch.Size)
	s.noteAdded(ch.ID)
	s.nudgeHeartbeat()
}

// receive reads one chunk of a batch into a new Writer, ready to commit;
// nil, nil when the chunk is stored here already. On error the Writer is
// aborted; when the stream broke, br.Err says so.
func (s *Server) receive(br *chunkclient.BatchReader, r io.Reader, ch chunkclient.BatchChunk, source proto.NodeID) (*disk.Writer, error) {
	if ch.Err != nil {
		return nil, fmt.Errorf("source %s: %w", source, ch.Err)
	}
	w, err := s.store.Create(uint64(ch.ID), ch.Size)
	if errors.Is(err, disk.ErrExists) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(w, &throttled{r: r, b: s.repairBW, done: s.done}); err != nil {
		w.Abort()
		return nil, err
	}
	if err := br.Verify(); err != nil {
		w.Abort()
		return nil, fmt.Errorf("source %s: %w", source, err)
	}
	return w, nil
}

// sourceErr names the source in the error of a call to it.
func sourceErr(source proto.NodeID, err error) error {
	var se *chunkclient.StatusError
	if errors.As(err, &se) {
		return fmt.Errorf("source %s: %w", source, se.Err)
	}
	return fmt.Errorf("source %s: %w", source, err)
}

// firstErr keeps the first error.
func firstErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// withCause adds why ctx ended to err, when it did.
func withCause(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(err, cause) {
			return fmt.Errorf("%w (%w)", err, cause)
		}
	}
	return err
}

// idleCut fires when one wait for the source lasts longer than after:
// it is armed only while the batch waits for the source, not while this
// server writes, commits or paces.
type idleCut struct {
	timer *time.Timer
	after time.Duration
}

// newIdleCut returns a context that ends, with a cause that says so, when
// the cut fires, and the cut (disarmed); stop releases both.
func newIdleCut(parent context.Context, after time.Duration) (context.Context, *idleCut, func()) {
	ctx, stall := context.WithCancelCause(parent)
	c := &idleCut{after: after}
	c.timer = time.AfterFunc(time.Hour, func() { stall(fmt.Errorf("no bytes for %v", after)) })
	c.timer.Stop()
	return ctx, c, func() { c.timer.Stop(); stall(nil) }
}

func (c *idleCut) arm()    { c.timer.Reset(c.after) }
func (c *idleCut) disarm() { c.timer.Stop() }

// waited reads from the source under the idle cut.
type waited struct {
	r   io.Reader
	cut *idleCut
}

func (w *waited) Read(b []byte) (int, error) {
	w.cut.arm()
	defer w.cut.disarm()
	return w.r.Read(b)
}
