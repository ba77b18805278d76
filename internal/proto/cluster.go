package proto

import "time"

// ClusterConfig is what clients need to know to write data.
type ClusterConfig struct {
	ChunkSize       int64 `json:"chunkSize"`
	Replication     int   `json:"replication"`
	InlineThreshold int64 `json:"inlineThreshold"`
	// MasterVoters is the size of the master group. An inline object
	// lives only in the masters' replicated state, so it has as many
	// copies as there are voters: clients store inline only when that is
	// at least the object's replica count. 0: not reported (older masters).
	MasterVoters int `json:"masterVoters,omitempty"`
	// OrphanGraceMs is how long written but uncommitted chunks are kept;
	// a writer renews its chunks well within it.
	OrphanGraceMs int64 `json:"orphanGraceMs"`
	// StorageClasses maps S3 storage class names to data policies
	// (ParseDataPolicy): a write asking for a mapped class is stored
	// under its policy instead of its bucket's.
	StorageClasses map[string]string `json:"storageClasses,omitempty"`
}

// RenewRequest tells the master a writer still holds these chunks.
type RenewRequest struct {
	IDs []ChunkID `json:"ids"`
}

// JoinRequest adds a master to the Raft group as a voter.
type JoinRequest struct {
	ID       NodeID `json:"id"`
	RaftAddr string `json:"raftAddr"`
	HTTPAddr string `json:"httpAddr"`
}

// ChunkServer is a chunk server's registry record plus its soft state.
type ChunkServer struct {
	ID            NodeID `json:"id"`
	Address       string `json:"address"`
	Rack          string `json:"rack,omitempty"`
	State         string `json:"state"`
	Chunks        int    `json:"chunks"`
	UsedBytes     int64  `json:"usedBytes"`
	CapacityBytes int64  `json:"capacityBytes"`
	// LastHeartbeatAgeMs is -1 when no heartbeat has been seen.
	LastHeartbeatAgeMs int64 `json:"lastHeartbeatAgeMs"`
	// FailedDirs names the server's failed data dirs (path: cause).
	FailedDirs []string `json:"failedDirs,omitempty"`
	// ScrubProgress is how far the scrubber is through its current pass
	// (0 to 1); LastFullScrub is when it last finished one (zero: never
	// since the server started). QueuedCommands are master commands
	// (copies, deletions) waiting on the server.
	ScrubProgress  float64   `json:"scrubProgress"`
	LastFullScrub  time.Time `json:"lastFullScrub,omitzero"`
	QueuedCommands int       `json:"queuedCommands"`
}

// Member is one voter of the master group as the status reports it.
type Member struct {
	ID       NodeID `json:"id"`
	Address  string `json:"address"`
	RaftAddr string `json:"raftAddress"`
	State    string `json:"state"`
}

// ChunkCounts are the cluster's chunk health counters.
type ChunkCounts struct {
	Total           int `json:"total"`
	UnderReplicated int `json:"underReplicated"`
	// LastCopy counts the under-replicated chunks down to one readable
	// replica (one more loss and they are missing); the rest of
	// UnderReplicated have lost some replicas but still have two or more.
	LastCopy       int `json:"lastCopy"`
	OverReplicated int `json:"overReplicated"`
	Missing        int `json:"missing"`
	Corrupt        int `json:"corrupt"`
	PendingDeletes int `json:"pendingDeletes"`
	// Degraded counts erasure-coded stripes with at least K but fewer
	// than K+M healthy shards (Total and Missing count stripes too: a
	// stripe is one counted unit, its shards are not).
	Degraded int `json:"degraded"`
}

// Status is the cluster status of `granary admin status --json`.
type Status struct {
	Leader       NodeID        `json:"leader"`
	SafeMode     bool          `json:"safeMode"`
	Term         uint64        `json:"term"`
	CommitIndex  uint64        `json:"commitIndex"`
	AppliedIndex uint64        `json:"appliedIndex"`
	Members      []Member      `json:"members"`
	ChunkServers []ChunkServer `json:"chunkservers"`
	Chunks       ChunkCounts   `json:"chunks"`
	Repair       RepairStats   `json:"repair"`
	// Lifecycle is the leader's lifecycle worker's progress.
	Lifecycle LifecycleStats `json:"lifecycle"`
	// Conversion is the leader's background conversion's progress.
	Conversion ConversionStats `json:"conversion"`
	// Storage is the data by policy as of the last repair round: logical
	// bytes (what was written) and stored bytes (on the chunk servers'
	// disks, all copies or shards), so the overhead of each policy shows.
	Storage []PolicyStorage `json:"storage,omitempty"`
	// Gateways are the S3 gateways that reported to the leader lately,
	// by id.
	Gateways []Gateway `json:"gateways,omitempty"`
}

// PolicyStorage is the data stored under one policy (rep-N or rs-K-M).
type PolicyStorage struct {
	Policy       string `json:"policy"`
	Chunks       int    `json:"chunks"` // chunks, or stripes
	LogicalBytes int64  `json:"logicalBytes"`
	StoredBytes  int64  `json:"storedBytes"`
}

// RepairStats describe the self-healing loop.
type RepairStats struct {
	QueuedCopies    int    `json:"queuedCopies"`
	InflightCopies  int    `json:"inflightCopies"`
	InflightDeletes int    `json:"inflightDeletes"`
	CopiesIssued    int64  `json:"copiesIssued"`
	CopiesDone      int64  `json:"copiesDone"`
	DeletesIssued   int64  `json:"deletesIssued"`
	OrphansFound    int64  `json:"orphansFound"`
	BalanceMoves    int64  `json:"balanceMoves"`
	SafeModeReason  string `json:"safeModeReason,omitempty"`
	// QueuedBytes and InflightBytes are the bytes of the copies waiting to
	// be issued and issued but not yet reported; BytesPerSecond is the
	// rate repair copies completed at over the last 10 s, and ETASeconds
	// how long the queued and running copies would take at that rate
	// (0 when nothing is left or nothing moves).
	QueuedBytes    int64 `json:"queuedBytes"`
	InflightBytes  int64 `json:"inflightBytes"`
	BytesPerSecond int64 `json:"bytesPerSecond"`
	ETASeconds     int64 `json:"etaSeconds"`
	// ReconstructsIssued counts the shard rebuilds sent to chunk servers
	// (their completions count in CopiesDone); QueuedStripes and
	// InflightReconstructs are the degraded stripes waiting for a rebuild
	// slot and the rebuilds sent but not yet reported.
	ReconstructsIssued   int64 `json:"reconstructsIssued,omitempty"`
	QueuedStripes        int   `json:"queuedStripes,omitempty"`
	InflightReconstructs int   `json:"inflightReconstructs,omitempty"`
	// Unreadable names (as "bucket/key") up to ten objects with a chunk
	// or stripe that cannot be read: no readable replica, or fewer than K
	// readable shards. Empty when nothing is missing.
	Unreadable []string `json:"unreadable,omitempty"`
}

// AliveChunkServers counts the chunk servers that are alive and have
// reported a capacity (ready to take data).
func (s Status) AliveChunkServers() int {
	n := 0
	for _, cs := range s.ChunkServers {
		if cs.State == "alive" && cs.CapacityBytes > 0 {
			n++
		}
	}
	return n
}

// Health is a master's view of itself, served without authentication.
type Health struct {
	ID       NodeID `json:"id"`
	State    string `json:"state"`
	Leader   string `json:"leader"`
	LeaderID NodeID `json:"leaderId"`
	Ready    bool   `json:"ready"`
	// Applied is the last log index reflected in this member's state.
	Applied uint64 `json:"applied"`
}
