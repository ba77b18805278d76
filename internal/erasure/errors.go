package erasure

import (
	"errors"
	"fmt"
)

// ErrLayout reports a Layout that Validate rejects.
var ErrLayout = errors.New("erasure: invalid layout")

// ErrTooFewShards reports that fewer than K shards were supplied to rebuild
// the others; the data cannot be recovered from them.
var ErrTooFewShards = errors.New("erasure: too few shards to reconstruct")

// ErrShardSize reports a shard slice whose length does not match the
// layout for the requested rows, or the wrong number of shards.
var ErrShardSize = errors.New("erasure: wrong shard size")

// ErrRange reports rows or data offsets outside the chunk.
var ErrRange = errors.New("erasure: range outside the data")

// ErrCorrupt reports shards whose parity does not match their data: at
// least one of them holds wrong bytes. Verify cannot say which.
var ErrCorrupt = errors.New("erasure: parity mismatch")

// ShardError is an error writing one shard: the Encoder returns it so the
// caller knows which shard (and so which server) failed.
type ShardError struct {
	Shard int   // index, 0..K-1 data, K..K+M-1 parity
	Err   error // the writer's error
}

func (e *ShardError) Error() string {
	return fmt.Sprintf("erasure: write shard %d: %v", e.Shard, e.Err)
}

// Unwrap returns the writer's error.
func (e *ShardError) Unwrap() error { return e.Err }
