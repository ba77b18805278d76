package client

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/granary-store/granary/internal/proto"
)

// ChunkReader reads a byte range of a chunk held on this host, verifying
// every block exactly as a chunk server verifies what it sends (the chunk
// store's ReadRange does). It writes only verified bytes and returns how
// many it wrote; data that fails verification is an error matching
// ErrReplicaCorrupt.
type ChunkReader interface {
	ReadRange(chunk ChunkID, off, n int64, w io.Writer) (int64, error)
}

// ChunkWriter is a ChunkReader that can also store a chunk on its server
// directly (granary server's chunk servers can: chunkserver.StartLocal):
// StartChunk writes exactly n bytes from r and returns once they are
// written, and commit, which must be called once when StartChunk returns
// nil, returns nil once the chunk is durable, reported to the master by
// that server. A Put writes the replicas of a chunk whose every target is
// on this host, and the local replicas of a small chunk, this way rather
// than through the data plane (a short-circuit write): a small chunk's
// local replicas are all started before the first commit, so their
// fsyncs overlap.
type ChunkWriter interface {
	ChunkReader
	StartChunk(ctx context.Context, chunk ChunkID, r io.Reader, n int64) (commit func() error, err error)
}

// localWriter returns the writer of chunk server id when it is on this
// host and can be written directly.
func (c *Client) localWriter(id NodeID) ChunkWriter {
	w, _ := c.local(id).(ChunkWriter)
	return w
}

// allLocal reports whether every target of ct can be written directly.
func (c *Client) allLocal(ct proto.ChunkTargets) bool {
	for _, t := range ct.Targets {
		if c.localWriter(t.ID) == nil {
			return false
		}
	}
	return len(ct.Targets) > 0
}

// writeLocal writes one replica of a chunk through lw.
// The body goes to lw as it is, so one that can write itself (the
// bytes.Reader of a chunk held in memory) is copied once; progress hears
// of the bytes when they are written.
func (c *Client) writeLocal(ctx context.Context, lw ChunkWriter, t proto.Target, chunk ChunkID, body io.Reader, n int64, progress func(int64)) (NodeID, error) {
	commit, failed, err := c.startLocal(ctx, lw, t, chunk, body, n)
	if err != nil {
		return failed, err
	}
	return c.commitLocal(commit, t, chunk, n, progress)
}

// startLocal starts writing one replica of a chunk through lw (writeLocal's
// first half); on success the caller must call commitLocal.
func (c *Client) startLocal(ctx context.Context, lw ChunkWriter, t proto.Target, chunk ChunkID, body io.Reader, n int64) (func() error, NodeID, error) {
	commit, err := lw.StartChunk(ctx, chunk, body, n)
	if err != nil {
		return nil, t.ID, fmt.Errorf("client: write chunk %d locally to %s: %w", chunk, t.ID, err)
	}
	return commit, "", nil
}

// commitLocal waits until a replica started by startLocal is durable.
func (c *Client) commitLocal(commit func() error, t proto.Target, chunk ChunkID, n int64, progress func(int64)) (NodeID, error) {
	if err := commit(); err != nil {
		return t.ID, fmt.Errorf("client: write chunk %d locally to %s: %w", chunk, t.ID, err)
	}
	if progress != nil {
		progress(n)
	}
	return "", nil
}

// ErrReplicaCorrupt is what a ChunkReader's error matches when the
// replica's data failed verification: the client then reports the replica
// to the master and reads on from another one.
var ErrReplicaCorrupt = errors.New("replica failed verification")

// local returns the reader of chunk server id when it is on this host.
func (c *Client) local(id NodeID) ChunkReader {
	if c.cfg.Local == nil {
		return nil
	}
	return c.cfg.Local(id)
}

// readLocal reads n bytes at off of a chunk from a replica on this host,
// without the chunk server's data plane (short-circuit read).
func (c *Client) readLocal(lr ChunkReader, t proto.Target, chunk ChunkID, off, n int64, w io.Writer) (int64, error) {
	got, err := lr.ReadRange(chunk, off, n, w)
	if err == nil && got != n {
		err = fmt.Errorf("%d of %d bytes: %w", got, n, io.ErrUnexpectedEOF)
	}
	if err != nil {
		return got, fmt.Errorf("client: read chunk %d locally from %s: %w", chunk, t.ID, err)
	}
	return got, nil
}

// localFirst moves the replicas on this host to the front (order kept
// otherwise).
func (c *Client) localFirst(replicas []proto.Target) []proto.Target {
	if c.cfg.Local == nil {
		return replicas
	}
	out := make([]proto.Target, 0, len(replicas))
	var rest []proto.Target
	for _, t := range replicas {
		if c.cfg.Local(t.ID) != nil {
			out = append(out, t)
		} else {
			rest = append(rest, t)
		}
	}
	return append(out, rest...)
}
