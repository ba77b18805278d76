package proto

import "time"

// ChunkWriteResult is a chunk server's answer to a pipelined write: the
// servers (this one first) that hold the chunk durably.
type ChunkWriteResult struct {
	Chunk    ChunkID  `json:"chunk"`
	Size     int64    `json:"size"`
	Replicas []NodeID `json:"replicas"`
}

// ChunkStat describes a stored chunk.
type ChunkStat struct {
	Chunk ChunkID `json:"chunk"`
	Size  int64   `json:"size"`
}

// AllocateRequest asks for Count fresh chunk ids. With Replication > 0 the
// master also chooses that many target servers for each chunk, avoiding
// the servers in Exclude (for example those that just failed a pipeline),
// with room for Size bytes.
type AllocateRequest struct {
	Count       int      `json:"count"`
	Replication int      `json:"replication,omitempty"`
	Exclude     []NodeID `json:"exclude,omitempty"`
	Size        int64    `json:"size,omitempty"`
	// Stripe, when set, asks for the shards of one erasure-coded stripe:
	// Count must be K+M, Replication 1 (or 0), and the answer gives each
	// chunk one target, all on distinct servers spread over racks; Size is
	// the size of one shard.
	Stripe *StripeShape `json:"stripe,omitempty"`
}

// StripeShape is the K data and M parity shards of a stripe.
type StripeShape struct {
	K int `json:"k"`
	M int `json:"m"`
}

// Target is a chunk server as the data path addresses it.
type Target struct {
	ID      NodeID `json:"id"`
	Address string `json:"address"`
}

// ChunkTargets is an allocated chunk with the servers to write it to, in
// pipeline order.
type ChunkTargets struct {
	ID      ChunkID  `json:"id"`
	Targets []Target `json:"targets,omitempty"`
}

// AllocateResult holds freshly allocated chunk ids (and targets).
type AllocateResult struct {
	IDs    []ChunkID      `json:"ids"`
	Chunks []ChunkTargets `json:"chunks,omitempty"`
}

// Located is an object's record with the live replicas of each chunk, in
// the order a reader should try them.
type Located struct {
	Object    Object         `json:"object"`
	Locations []ChunkTargets `json:"locations"`
}

// CorruptReport tells the master a replica failed verification.
type CorruptReport struct {
	Chunk  ChunkID `json:"chunk"`
	Server NodeID  `json:"server"`
	Reason string  `json:"reason,omitempty"`
}

// RegisterRequest adds or updates a chunk server in the registry.
type RegisterRequest struct {
	ID      NodeID `json:"id"`
	Address string `json:"address"`
	Rack    string `json:"rack,omitempty"`
}

// HeartbeatRequest is a chunk server's periodic report. A full report
// (Full) lists every chunk the server holds in Report; otherwise Added and
// Removed carry the changes since the previous heartbeat.
type HeartbeatRequest struct {
	ID            NodeID    `json:"id"`
	UsedBytes     int64     `json:"usedBytes"`
	CapacityBytes int64     `json:"capacityBytes"`
	Chunks        int       `json:"chunks"`
	Full          bool      `json:"full,omitempty"`
	Report        []ChunkID `json:"report,omitempty"`
	Added         []ChunkID `json:"added,omitempty"`
	Removed       []ChunkID `json:"removed,omitempty"`
	// Corrupt lists chunks that failed verification here (scrubber or
	// reads) since the last heartbeat.
	Corrupt []ChunkID `json:"corrupt,omitempty"`
	// Failed lists copy commands that failed, so the master can retry
	// elsewhere at once.
	Failed []ChunkID `json:"failed,omitempty"`
	// FailedDirs names the data dirs found failed (path: cause); their
	// chunks were reported removed.
	FailedDirs []string `json:"failedDirs,omitempty"`
	// ReportSizes and AddedSizes, when present, give the data bytes of
	// each chunk in Report and Added (same order), so the master can pace
	// repair by bytes. Older servers send neither.
	ReportSizes []int64 `json:"reportSizes,omitempty"`
	AddedSizes  []int64 `json:"addedSizes,omitempty"`
	// CopiedBytes counts the bytes of repair copies this server completed
	// since it started; QueuedCommands is how many master commands wait
	// in its queue.
	CopiedBytes    int64 `json:"copiedBytes,omitempty"`
	QueuedCommands int   `json:"queuedCommands,omitempty"`
	// ScrubProgress (0 to 1) and LastFullScrub describe the scrubber.
	ScrubProgress float64   `json:"scrubProgress,omitempty"`
	LastFullScrub time.Time `json:"lastFullScrub,omitzero"`
}

// CommandPoll answers a chunk server's long poll for commands
// (RouteChunkServers/{id}/commands?waitMs=N).
type CommandPoll struct {
	Commands []Command `json:"commands"`
}

// HeartbeatReply answers a heartbeat.
type HeartbeatReply struct {
	// Registered is false when the master does not know the server; it
	// must register again.
	Registered bool `json:"registered"`
	// NeedFullReport asks for a full chunk report on the next heartbeat
	// (the leader changed, or lost track of the server).
	NeedFullReport bool `json:"needFullReport,omitempty"`
	// Commands are work for the chunk server: copies and deletions.
	Commands []Command `json:"commands,omitempty"`
	// IntervalMs is the heartbeat interval the master wants.
	IntervalMs int64 `json:"intervalMs,omitempty"`
}

// Command kinds in heartbeat replies.
const (
	// CmdCopy asks the server to fetch Chunk from Source and store it;
	// with More, also each chunk in More, all in one batch read
	// (RouteChunkBatch).
	CmdCopy = "copy"
	// CmdDelete asks the server to delete Chunk.
	CmdDelete = "delete"
	// CmdReconstruct asks the server to rebuild shard Rebuild.Shard of a
	// stripe, chunk Chunk, from the K shards in Rebuild.Sources, and store
	// it as an ordinary chunk.
	CmdReconstruct = "reconstruct"
)

// Command is one instruction from the master to a chunk server.
type Command struct {
	Op     string  `json:"op"`
	Chunk  ChunkID `json:"chunk"`
	Source Target  `json:"source,omitempty"`
	// More, on a copy, lists further chunks to fetch from the same Source
	// in the same request as Chunk (at most MaxCopyBatch in all, no id
	// twice); each succeeds or fails on its own. Nil, and absent from the
	// encoding, for a copy of one chunk and every other op; a server that
	// predates it copies Chunk alone.
	More []ChunkID `json:"more,omitempty"`
	// Rebuild is the stripe and sources of a reconstruct; nil (and
	// absent from the encoding) for every other op.
	Rebuild *Rebuild `json:"rebuild,omitempty"`
}

// Rebuild describes the shard a reconstruct command rebuilds: the
// stripe's layout (K data and M parity shards of Cell-byte cells over
// Length data bytes, as internal/erasure lays them out), the index of the
// shard to rebuild, and exactly K other shards to read it from.
type Rebuild struct {
	K       int           `json:"k"`
	M       int           `json:"m"`
	Cell    int64         `json:"cell"`
	Length  int64         `json:"length"`
	Shard   int           `json:"shard"`
	Sources []ShardSource `json:"sources"`
}

// ShardSource is one shard a reconstruct reads: its index in the stripe,
// its chunk id, and the server to read it from.
type ShardSource struct {
	Shard  int     `json:"shard"`
	Chunk  ChunkID `json:"chunk"`
	Source Target  `json:"source"`
}
