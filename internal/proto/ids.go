package proto

// ChunkID names a chunk: a replica's file on a chunk server, one shard of
// an erasure-coded stripe, or an extent's bytes. The master allocates
// chunk ids through Raft, never reuses one, and 0 is never a chunk. On the
// wire it is a JSON number, exactly as a plain uint64 is.
type ChunkID uint64

// NodeID names a chunk server or a master: the id it registers or joins
// with, which ValidID checks. On the wire it is a JSON string.
type NodeID string
