package chunkserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/granary-store/granary/chunkserver/disk"
	"github.com/granary-store/granary/internal/chunkclient"
	"github.com/granary-store/granary/internal/proto"
)

// runCommands executes the master's commands from the queue with at most
// MaxCopies copies and shard rebuilds at a time, until the server closes.
func (s *Server) runCommands() {
	sem := make(chan struct{}, s.cfg.MaxCopies)
	for {
		var cmd proto.Command
		select {
		case <-s.done:
			return
		case cmd = <-s.cmds:
		}
		if cmd.Op == proto.CmdDelete {
			s.deleteChunk(cmd.Chunk)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-s.done:
			return
		}
		s.wg.Add(1)
		go func() { // owned by the server: bounded by sem, ends with the copy
			defer s.wg.Done()
			defer s.nudgeHeartbeat() // report it, and fetch more work, soon
			defer func() { <-sem }()
			run := s.copyChunk
			if cmd.Op == proto.CmdReconstruct {
				run = s.reconstructChunk
			}
			if err := run(cmd); err != nil {
				s.log.Warn("repair chunk", "op", cmd.Op, "chunk", cmd.Chunk, "from", cmd.Source.ID, "err", err)
				s.mu.Lock()
				s.failedCopies = append(s.failedCopies, cmd.Chunk)
				s.mu.Unlock()
			}
		}()
	}
}

// pollWait is how long one command poll waits at the master: below the
// master client's attempt timeout.
const pollWait = 3 * time.Second

// pollCommands keeps a long poll open to the leader, so repair work
// arrives as soon as it is planned rather than with the next heartbeat,
// until the server closes. Polling pauses with the server and backs off
// after failures (heartbeats carry commands too, so nothing is lost).
func (s *Server) pollCommands() {
	for {
		if !s.waitUnpaused(s.done) {
			return
		}
		ctx, cancel := context.WithTimeout(s.life, pollWait+5*time.Second)
		cmds, err := s.master.Commands(ctx, s.cfg.ID, pollWait)
		cancel()
		if err == nil {
			s.enqueue(cmds)
			continue
		}
		select {
		case <-s.done:
			return
		case <-time.After(time.Second):
		}
	}
}

// enqueue hands commands to runCommands without blocking the heartbeat;
// commands that do not fit are dropped (the master plans them again).
func (s *Server) enqueue(cmds []proto.Command) {
	for _, c := range cmds {
		select {
		case s.cmds <- c:
		default:
			s.log.Warn("command queue full; dropping", "op", c.Op, "chunk", c.Chunk)
		}
	}
}

func (s *Server) deleteChunk(id proto.ChunkID) {
	if err := s.store.Delete(uint64(id)); err != nil && !errors.Is(err, disk.ErrNotFound) {
		s.log.Warn("delete chunk", "chunk", id, "err", err)
		return
	}
	s.noteRemoved(id)
}

// copyChunk fetches a chunk from another server and stores it, verified
// (the source verifies each block it sends; the trailer says whether all
// of it was good) and paced by the server's repair bandwidth.
func (s *Server) copyChunk(cmd proto.Command) error {
	ctx := s.life
	body, err := s.peers.Get(ctx, cmd.Source.Address, cmd.Chunk, 0, -1)
	var se *chunkclient.StatusError
	if errors.As(err, &se) {
		return fmt.Errorf("source %s: %w", cmd.Source.ID, se.Err)
	}
	if err != nil {
		return err
	}
	defer body.Close()
	w, err := s.store.Create(uint64(cmd.Chunk), -1)
	if errors.Is(err, disk.ErrExists) {
		s.noteAdded(cmd.Chunk)
		return nil
	}
	if err != nil {
		return err
	}
	defer w.Abort()
	n, err := io.Copy(w, &throttled{r: body, b: s.repairBW, done: s.done})
	if err != nil {
		return err
	}
	if err := body.Verify(); err != nil {
		return fmt.Errorf("source %s cut the copy short: %v", cmd.Source.ID, err)
	}
	if err := w.Commit(); err != nil {
		return err
	}
	s.copiesDone.Add(1)
	s.copiedBytes.Add(n)
	s.noteAdded(cmd.Chunk)
	return nil
}

// throttled limits a reader to what the server's repair bucket lets pass.
type throttled struct {
	r    io.Reader
	b    *bucket
	done <-chan struct{}
}

func (t *throttled) Read(p []byte) (int, error) {
	if t.b.rate > 0 {
		p = p[:min(len(p), t.b.chunk())]
	}
	n, err := t.r.Read(p)
	if n > 0 && !t.b.take(n, t.done) {
		return 0, disk.ErrClosed
	}
	return n, err
}
