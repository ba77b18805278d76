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

// runCommands executes the master's commands from the queue with at most
// MaxCopies copies and shard rebuilds streaming at a time (a batch hands
// its slot on once read, while its chunks wait for the disk in the
// commit room), until the server closes.
func (s *Server) runCommands() {
	sem := make(chan struct{}, s.cfg.MaxCopies)
	var next *proto.Command // taken from the queue behind a batch of deletes
	for {
		var cmd proto.Command
		if next != nil {
			cmd, next = *next, nil
		} else {
			select {
			case <-s.done:
				return
			case cmd = <-s.cmds:
			}
		}
		if err := checkCommand(cmd); err != nil {
			s.refuse(cmd, err)
			continue
		}
		if cmd.Op == proto.CmdDelete {
			// The deletes queued behind it go with it: their tombstones
			// share a group commit.
			ids := []proto.ChunkID{cmd.Chunk}
		drain:
			for len(ids) < maxDeleteBatch {
				select {
				case c := <-s.cmds:
					if c.Op != proto.CmdDelete || checkCommand(c) != nil {
						next = &c
						break drain
					}
					ids = append(ids, c.Chunk)
				default:
					break drain
				}
			}
			s.deleteChunks(ids)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-s.done:
			return
		}
		s.wg.Add(1)
		go func() { // owned by the server: bounded by sem (and the room), ends with the copy
			defer s.wg.Done()
			defer s.nudgeHeartbeat() // report it, and fetch more work, soon
			var once sync.Once
			free := func() { once.Do(func() { <-sem }) }
			defer free()
			s.repair(cmd, free)
		}()
	}
}

// repair runs one copy (of one chunk or a batch) or shard rebuild, and
// reports what failed. A batch calls read once its chunks are read (its
// commits go on), a single copy or rebuild when it is done.
func (s *Server) repair(cmd proto.Command, read func()) {
	if len(cmd.More) > 0 {
		if failed, err := s.copyBatch(cmd, read); failed > 0 {
			s.log.Warn("repair batch", "chunks", 1+len(cmd.More), "failed", failed, "from", cmd.Source.ID, "err", err)
		}
		return
	}
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
}

// errBadCommand marks a command from the master this server refuses: an
// unknown op, no chunk, a copy without a source, a batch that is too
// large or names a chunk twice, More on anything but a copy.
var errBadCommand = errors.New("bad command")

// checkCommand validates a command before it runs. (A reconstruct's
// stripe is checked by reconstructChunk.)
func checkCommand(cmd proto.Command) error {
	switch {
	case cmd.Op != proto.CmdCopy && cmd.Op != proto.CmdDelete && cmd.Op != proto.CmdReconstruct:
		return fmt.Errorf("%w: unknown op %q", errBadCommand, cmd.Op)
	case cmd.Op != proto.CmdCopy && cmd.More != nil:
		return fmt.Errorf("%w: %s with more chunks", errBadCommand, cmd.Op)
	case cmd.Op == proto.CmdCopy && cmd.Source.Address == "":
		return fmt.Errorf("%w: copy of chunk %d without a source", errBadCommand, cmd.Chunk)
	}
	batch := proto.ChunkBatchRequest{Chunks: batchIDs(cmd)}
	if err := batch.Validate(); err != nil {
		return fmt.Errorf("%w: %s: %w", errBadCommand, cmd.Op, err)
	}
	return nil
}

// refuse logs a command that fails checkCommand and reports its copies
// failed, so the master plans them again rather than wait them out.
func (s *Server) refuse(cmd proto.Command, err error) {
	s.log.Warn("refused a command from the master", "op", cmd.Op, "chunk", cmd.Chunk, "err", err)
	if cmd.Op == proto.CmdDelete {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range batchIDs(cmd) {
		if id != 0 {
			s.failedCopies = append(s.failedCopies, id)
		}
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

// maxDeleteBatch bounds the deletes runCommands takes from its queue at
// once (the master sends up to its MaxDeletesPerRound in one answer).
const maxDeleteBatch = 1024

// deleteChunks deletes chunks the master no longer needs, in one batch.
func (s *Server) deleteChunks(ids []proto.ChunkID) {
	raw := make([]uint64, len(ids))
	for i, id := range ids {
		raw[i] = uint64(id)
	}
	for i, err := range s.store.DeleteMany(raw) {
		if err != nil && !errors.Is(err, disk.ErrNotFound) {
			s.log.Warn("delete chunk", "chunk", ids[i], "err", err)
			continue
		}
		s.noteRemoved(ids[i])
	}
}

// copyChunk fetches a chunk from another server and stores it, verified
// (the source verifies each block it sends; the trailer says whether all
// of it was good) and paced by the server's repair bandwidth.
func (s *Server) copyChunk(cmd proto.Command) error {
	// A wait for the source that lasts IdleTimeout cuts the copy, as in
	// a batch: the clock runs only while this server waits for bytes, not
	// while it writes or paces.
	ctx, idle, stop := newIdleCut(s.life, s.cfg.IdleTimeout)
	defer stop()
	idle.arm()
	body, err := s.peers.Get(ctx, cmd.Source.Address, cmd.Chunk, 0, -1)
	idle.disarm()
	var se *chunkclient.StatusError
	if errors.As(err, &se) {
		return fmt.Errorf("source %s: %w", cmd.Source.ID, se.Err)
	}
	if err != nil {
		return withCause(ctx, err)
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
	n, err := io.Copy(w, &throttled{r: &waited{r: body, cut: idle}, b: s.repairBW, done: s.done})
	if err != nil {
		return withCause(ctx, err)
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
