package chunkserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/granary-store/granary/chunkserver/disk"
	"github.com/granary-store/granary/internal/chunkclient"
	"github.com/granary-store/granary/internal/erasure"
	"github.com/granary-store/granary/internal/proto"
)

// errBadRebuild marks a reconstruct command this server cannot carry out
// as given: no stripe, an invalid layout, a shard index out of range, or
// not exactly K other shards to read.
var errBadRebuild = errors.New("bad reconstruct command")

// rebuildWindow bounds the shard bytes a reconstruct reads from each
// source at once (whole rows, at least one): with K sources and the M
// shards decoded, a rebuild holds about (K+M) windows in memory.
const rebuildWindow = 4 << 20

// reconstructChunk rebuilds shard cmd.Rebuild.Shard of a stripe as chunk
// cmd.Chunk: it walks the shard a few rows at a time, reads the same
// window of each of the K sources (ranged reads the sources verify block
// by block, paced by the server's repair bandwidth like a copy), decodes
// it (erasure.Reconstruct), and writes the shard through the same store
// path a copy uses, its size declared up front. Once committed, the chunk
// is verified from disk before it is reported like a copied chunk.
func (s *Server) reconstructChunk(cmd proto.Command) error {
	rb := cmd.Rebuild
	l, err := rebuildLayout(rb)
	if err != nil {
		return fmt.Errorf("chunkserver: reconstruct chunk %d: %w", cmd.Chunk, err)
	}
	size := l.ShardSize(rb.Length, rb.Shard)
	w, err := s.store.Create(uint64(cmd.Chunk), size)
	if errors.Is(err, disk.ErrExists) {
		s.noteAdded(cmd.Chunk)
		return nil
	}
	if err != nil {
		return fmt.Errorf("chunkserver: reconstruct chunk %d: %w", cmd.Chunk, err)
	}
	defer w.Abort()
	rows := l.RowCount(rb.Length)
	step := max(1, rebuildWindow/rb.Cell)
	for first := int64(0); first < rows; first += step {
		wOff, wLen := l.RowWindow(first, min(first+step, rows)-1)
		shards, err := s.readSources(s.life, l, rb, wOff, wLen)
		if err != nil {
			return fmt.Errorf("chunkserver: reconstruct chunk %d: %w", cmd.Chunk, err)
		}
		if err := l.Reconstruct(shards, rb.Length, wOff, wLen); err != nil {
			return fmt.Errorf("chunkserver: reconstruct chunk %d: %w", cmd.Chunk, err)
		}
		if _, err := w.Write(shards[rb.Shard]); err != nil {
			return fmt.Errorf("chunkserver: reconstruct chunk %d: %w", cmd.Chunk, err)
		}
	}
	if err := w.Commit(); err != nil {
		return fmt.Errorf("chunkserver: reconstruct chunk %d: %w", cmd.Chunk, err)
	}
	if err := s.store.Verify(uint64(cmd.Chunk)); err != nil {
		return fmt.Errorf("chunkserver: reconstructed chunk %d fails verification: %w", cmd.Chunk, err)
	}
	s.copiesDone.Add(1)
	s.copiedBytes.Add(size)
	s.reconstructsDone.Add(1)
	s.noteAdded(cmd.Chunk)
	return nil
}

// rebuildLayout checks a reconstruct command and returns its layout.
func rebuildLayout(rb *proto.Rebuild) (erasure.Layout, error) {
	if rb == nil {
		return erasure.Layout{}, fmt.Errorf("no stripe: %w", errBadRebuild)
	}
	l := erasure.Layout{K: rb.K, M: rb.M, Cell: rb.Cell}
	if err := l.Validate(); err != nil {
		return l, fmt.Errorf("%w: %w", errBadRebuild, err)
	}
	if rb.Shard < 0 || rb.Shard >= l.Shards() || rb.Length <= 0 || len(rb.Sources) != rb.K {
		return l, fmt.Errorf("shard %d of %s over %d bytes from %d sources: %w", rb.Shard, l, rb.Length, len(rb.Sources), errBadRebuild)
	}
	seen := map[int]bool{rb.Shard: true}
	for _, src := range rb.Sources {
		if src.Shard < 0 || src.Shard >= l.Shards() || seen[src.Shard] {
			return l, fmt.Errorf("source shard %d of %s: %w", src.Shard, l, errBadRebuild)
		}
		seen[src.Shard] = true
	}
	return l, nil
}

// readSources reads the shard window [wOff, wOff+wLen) of every source at
// once and returns the K+M shard slots Reconstruct takes: each source's
// ShardRange of the window (empty, not nil, where that range is empty),
// nil for the shards to decode.
func (s *Server) readSources(ctx context.Context, l erasure.Layout, rb *proto.Rebuild, wOff, wLen int64) ([][]byte, error) {
	shards := make([][]byte, l.Shards())
	errs := make([]error, len(rb.Sources))
	var wg sync.WaitGroup
	for i, src := range rb.Sources {
		off, n := l.ShardRange(rb.Length, src.Shard, wOff, wLen)
		if n == 0 {
			shards[src.Shard] = []byte{}
			continue
		}
		buf := make([]byte, n)
		shards[src.Shard] = buf
		wg.Add(1)
		go func() { // bounded by the sources of one window; ends with its read
			defer wg.Done()
			errs[i] = s.readShard(ctx, src, off, buf)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return shards, nil
}

// readShard fills buf with the bytes at off of a source shard, verified
// by the source and paced by the repair bandwidth.
func (s *Server) readShard(ctx context.Context, src proto.ShardSource, off int64, buf []byte) error {
	body, err := s.peers.Get(ctx, src.Source.Address, src.Chunk, off, int64(len(buf)))
	var se *chunkclient.StatusError
	if errors.As(err, &se) {
		return fmt.Errorf("shard %d (chunk %d) on %s: %w", src.Shard, src.Chunk, src.Source.ID, se.Err)
	}
	if err != nil {
		return fmt.Errorf("shard %d (chunk %d) on %s: %w", src.Shard, src.Chunk, src.Source.ID, err)
	}
	defer body.Close()
	if _, err := io.ReadFull(&throttled{r: body, b: s.repairBW, done: s.done}, buf); err != nil {
		return fmt.Errorf("shard %d (chunk %d) on %s: %w", src.Shard, src.Chunk, src.Source.ID, err)
	}
	if _, err := io.Copy(io.Discard, body); err != nil { // to the trailer
		return fmt.Errorf("shard %d (chunk %d) on %s: %w", src.Shard, src.Chunk, src.Source.ID, err)
	}
	if err := body.Verify(); err != nil {
		return fmt.Errorf("shard %d (chunk %d) on %s cut the read short: %w", src.Shard, src.Chunk, src.Source.ID, err)
	}
	return nil
}
