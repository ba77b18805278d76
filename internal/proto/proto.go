// Package proto holds the wire types shared by Granary's processes: the JSON
// bodies of the master's HTTP API, error codes, and the naming rules every
// front end enforces. It imports only the standard library.
package proto

import (
	"fmt"
	"strings"
	"time"
)

// APIPrefix is the versioned root of every master HTTP route.
const APIPrefix = "/v1"

// Routes of the master HTTP API, relative to the server root.
const (
	RouteHealth        = APIPrefix + "/health"
	RouteStatus        = APIPrefix + "/status"
	RouteJoin          = APIPrefix + "/cluster/join"
	RouteMembers       = APIPrefix + "/cluster/members"
	RouteBuckets       = APIPrefix + "/buckets"
	RouteObjectCommit  = APIPrefix + "/objects/commit"
	RouteObjectStat    = APIPrefix + "/objects/stat"
	RouteObjectDelete  = APIPrefix + "/objects/delete"
	RouteObjectRename  = APIPrefix + "/objects/rename"
	RouteObjectList    = APIPrefix + "/objects/list"
	RouteChunkAllocate = APIPrefix + "/chunks/allocate"
	RouteChunkCorrupt  = APIPrefix + "/chunks/corrupt"
	RouteChunkRenew    = APIPrefix + "/chunks/renew"
	RouteObjectLocate  = APIPrefix + "/objects/locate"
	RouteConfig        = APIPrefix + "/config"
	RouteUploads       = APIPrefix + "/uploads"
	// RouteChunkData is the chunk server's data plane: PUT, GET, DELETE
	// RouteChunkData+"/{id}" and GET RouteChunkData+"/{id}/stat".
	RouteChunkData    = APIPrefix + "/chunk"
	RouteChunkServers = APIPrefix + "/chunkservers"
	RouteUsers        = APIPrefix + "/users"
	RouteKeys         = APIPrefix + "/keys"
)

// Header names used between Granary processes.
const (
	// HeaderForwarded marks a request a follower forwarded to the leader, so
	// that it is never forwarded twice.
	HeaderForwarded = "X-Granary-Forwarded"
	// HeaderRequestID names one logical call to the master, the same on
	// every retry of it (see NewRequestID); the master applies a change
	// carrying it at most once.
	HeaderRequestID = "X-Granary-Request-Id"
	// HeaderPipeline lists, comma-separated, the addresses a chunk write
	// must be forwarded to after the receiving server.
	HeaderPipeline = "X-Granary-Pipeline"
	// TrailerStatus is set after a chunk read body: "ok", or the error that
	// cut the body short (for example "Corrupt: ...").
	TrailerStatus = "X-Granary-Status"
)

// Limits on metadata that the master enforces.
const (
	MaxKeyLen        = 1024
	MaxUserMetaBytes = 2048
	MaxInlineBytes   = 256 << 10
	MaxExtents       = 1 << 16
	MaxContentType   = 256
	MaxListKeys      = 1000
	MaxRequestBytes  = 8 << 20
	MaxAllocChunks   = 10000
	MaxUserNameLen   = 64
	MaxNodeIDLen     = 64
	MaxAddressLen    = 256
	MaxReportChunks  = 1 << 22
	MaxPipeline      = 16
	// MaxObjectHeaders bounds the total size of an ObjectHeaders.
	MaxObjectHeaders = 8 << 10
	// MaxChecksumLen bounds a checksum value (a part's or an object's).
	MaxChecksumLen = 128
)

// FormatPipeline encodes pipeline targets for HeaderPipeline.
func FormatPipeline(ts []Target) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = t.ID + "@" + t.Address
	}
	return strings.Join(parts, ",")
}

// ParsePipeline decodes HeaderPipeline.
func ParsePipeline(v string) ([]Target, error) {
	if v == "" {
		return nil, nil
	}
	parts := strings.Split(v, ",")
	if len(parts) > MaxPipeline {
		return nil, fmt.Errorf("pipeline of %d servers exceeds %d: %w", len(parts), MaxPipeline, ErrInvalidName)
	}
	out := make([]Target, len(parts))
	for i, p := range parts {
		id, addr, ok := strings.Cut(p, "@")
		if !ok || ValidID("chunk server", id) != nil || addr == "" || len(addr) > MaxAddressLen || strings.ContainsAny(addr, "/?#@ ") {
			return nil, fmt.Errorf("pipeline entry %q is not id@host:port: %w", p, ErrInvalidName)
		}
		out[i] = Target{ID: id, Address: addr}
	}
	return out, nil
}

// ChunkWriteResult is a chunk server's answer to a pipelined write: the
// servers (this one first) that hold the chunk durably.
type ChunkWriteResult struct {
	Chunk    uint64   `json:"chunk"`
	Size     int64    `json:"size"`
	Replicas []string `json:"replicas"`
}

// ChunkStat describes a stored chunk.
type ChunkStat struct {
	Chunk uint64 `json:"chunk"`
	Size  int64  `json:"size"`
}

// Bucket is a bucket's metadata record.
type Bucket struct {
	Name        string    `json:"name"`
	Created     time.Time `json:"created"`
	Owner       string    `json:"owner,omitempty"`
	Replication int       `json:"replication,omitempty"`
	Location    string    `json:"location,omitempty"`
}

// Extent places the object bytes [Offset, Offset+Length) in a chunk,
// starting at ChunkOffset within the chunk.
type Extent struct {
	Chunk       uint64 `json:"chunk"`
	Offset      int64  `json:"offset"`
	Length      int64  `json:"length"`
	ChunkOffset int64  `json:"chunkOffset,omitempty"`
}

// Object is an object's metadata record: either Inline data or Extents.
type Object struct {
	Bucket      string            `json:"bucket"`
	Key         string            `json:"key"`
	Size        int64             `json:"size"`
	ETag        string            `json:"etag,omitempty"`
	ContentType string            `json:"contentType,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
	Modified    time.Time         `json:"modified"`
	Version     uint64            `json:"version"`
	Inline      []byte            `json:"inline,omitempty"`
	Extents     []Extent          `json:"extents,omitempty"`
	Dir         bool              `json:"dir,omitempty"`
	// Parts lists the parts of an object made by a multipart completion,
	// in part order, as the completion named them; it is empty on every
	// other object (a commit that carries Parts is refused). The bytes of
	// Parts[i] start at the sum of the sizes of Parts[:i], and the sizes
	// add up to Size. A rename keeps them; an overwrite replaces them.
	// The master leaves them out of listings: only Stat and Locate (the
	// client's Stat and Open) return them.
	Parts []ObjectPart `json:"parts,omitempty"`
	ObjectHeaders
}

// ObjectPart is one part of a completed multipart object, as S3 reports it
// for GET ?partNumber and GetObjectAttributes.
type ObjectPart struct {
	// Number is the part number the upload gave it (1 to MaxPartNumber;
	// numbers may skip, as a completion need not name every part).
	Number int   `json:"number"`
	Size   int64 `json:"size"`
	// Checksum is the part's base64 checksum in the object's
	// ChecksumAlgorithm, when the part was uploaded with one.
	Checksum string `json:"checksum,omitempty"`
}

// ObjectHeaders are the attributes S3 stores with an object, beyond its
// content type and user metadata, and gives back on reads. Embedded in
// Object and Upload, their JSON is flattened into the record and empty
// fields are left out, so records written without them are unchanged.
// The master keeps the header values as sent; it checks only their size
// (MaxObjectHeaders), UTF-8, and the checksum names.
type ObjectHeaders struct {
	CacheControl       string `json:"cacheControl,omitempty"`
	ContentDisposition string `json:"contentDisposition,omitempty"`
	ContentEncoding    string `json:"contentEncoding,omitempty"`
	ContentLanguage    string `json:"contentLanguage,omitempty"`
	// Expires is the Expires header as sent (S3 keeps unparsable values).
	Expires         string `json:"expires,omitempty"`
	StorageClass    string `json:"storageClass,omitempty"`
	WebsiteRedirect string `json:"websiteRedirect,omitempty"`
	// ChecksumAlgorithm is one of the Checksum* algorithm names.
	ChecksumAlgorithm string `json:"checksumAlgorithm,omitempty"`
	// ChecksumType is ChecksumFullObject or ChecksumComposite.
	ChecksumType string `json:"checksumType,omitempty"`
	// Checksum is the base64 value; a composite one ends in "-<parts>".
	// It requires ChecksumAlgorithm. On an Upload it is unused: the
	// completion sets the object's (CompleteRequest.Checksum).
	Checksum string `json:"checksum,omitempty"`
}

// Checksum algorithms and types of ObjectHeaders, spelled as S3 does.
const (
	ChecksumCRC32     = "CRC32"
	ChecksumCRC32C    = "CRC32C"
	ChecksumCRC64NVME = "CRC64NVME"
	ChecksumSHA1      = "SHA1"
	ChecksumSHA256    = "SHA256"
	ChecksumMD5       = "MD5"
	ChecksumSHA512    = "SHA512"

	ChecksumFullObject = "FULL_OBJECT"
	ChecksumComposite  = "COMPOSITE"
)

// CommitRequest asks the master to make an object visible atomically.
// IfVersion, when non-zero, makes the commit conditional on the current
// version (use MustNotExist for "must not exist", S3's If-None-Match: *).
// IfETag, when set, makes it conditional on the current object's ETag
// (S3's If-Match; surrounding quotes are ignored): a different ETag fails
// with CodePrecondition, a missing object with CodeNoSuchKey. The master
// checks both inside the replicated commit, so two writers that read the
// same ETag cannot both succeed.
type CommitRequest struct {
	Object    Object `json:"object"`
	IfVersion uint64 `json:"ifVersion,omitempty"`
	IfETag    string `json:"ifETag,omitempty"`
	// Written tells the leader which servers the pipelines wrote each
	// chunk to, so reads find the replicas before the next heartbeats.
	Written []ChunkTargets `json:"written,omitempty"`
}

// MustNotExist is the IfVersion value for a create-only commit.
const MustNotExist = ^uint64(0)

// KeyRequest names one object.
type KeyRequest struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
}

// DeleteRequest removes one object, optionally only when every condition
// given holds on the current record (else CodePrecondition): IfETag (S3's
// If-Match, quotes ignored), IfSize (x-amz-if-match-size) and IfModified
// (x-amz-if-match-last-modified-time, compared to the second). Deleting a
// missing object fails with CodeNoSuchKey.
type DeleteRequest struct {
	Bucket     string     `json:"bucket"`
	Key        string     `json:"key"`
	IfETag     string     `json:"ifETag,omitempty"`
	IfSize     *int64     `json:"ifSize,omitempty"`
	IfModified *time.Time `json:"ifModified,omitempty"`
}

// RenameRequest moves an object to a new key in the same bucket.
type RenameRequest struct {
	Bucket string `json:"bucket"`
	From   string `json:"from"`
	To     string `json:"to"`
}

// ListRequest selects a page of keys in byte order.
type ListRequest struct {
	Bucket     string `json:"bucket"`
	Prefix     string `json:"prefix,omitempty"`
	Delimiter  string `json:"delimiter,omitempty"`
	StartAfter string `json:"startAfter,omitempty"`
	MaxKeys    int    `json:"maxKeys,omitempty"`
}

// ListResult is one page of a listing.
type ListResult struct {
	Objects        []Object `json:"objects"`
	CommonPrefixes []string `json:"commonPrefixes"`
	IsTruncated    bool     `json:"isTruncated"`
	// NextStartAfter is the last key or common prefix of the page; pass it
	// as StartAfter to get the next page.
	NextStartAfter string `json:"nextStartAfter,omitempty"`
	// Examined counts the index entries the master looked at (for tests
	// and metrics: it must stay proportional to the page).
	Examined int `json:"examined"`
}

// AllocateRequest asks for Count fresh chunk ids. With Replication > 0 the
// master also chooses that many target servers for each chunk, avoiding
// the servers in Exclude (for example those that just failed a pipeline),
// with room for Size bytes.
type AllocateRequest struct {
	Count       int      `json:"count"`
	Replication int      `json:"replication,omitempty"`
	Exclude     []string `json:"exclude,omitempty"`
	Size        int64    `json:"size,omitempty"`
}

// Target is a chunk server as the data path addresses it.
type Target struct {
	ID      string `json:"id"`
	Address string `json:"address"`
}

// ChunkTargets is an allocated chunk with the servers to write it to, in
// pipeline order.
type ChunkTargets struct {
	ID      uint64   `json:"id"`
	Targets []Target `json:"targets,omitempty"`
}

// AllocateResult holds freshly allocated chunk ids (and targets).
type AllocateResult struct {
	IDs    []uint64       `json:"ids"`
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
	Chunk  uint64 `json:"chunk"`
	Server string `json:"server"`
	Reason string `json:"reason,omitempty"`
}

// ClusterConfig is what clients need to know to write data.
type ClusterConfig struct {
	ChunkSize       int64 `json:"chunkSize"`
	Replication     int   `json:"replication"`
	InlineThreshold int64 `json:"inlineThreshold"`
	// OrphanGraceMs is how long written but uncommitted chunks are kept;
	// a writer renews its chunks well within it.
	OrphanGraceMs int64 `json:"orphanGraceMs"`
}

// RenewRequest tells the master a writer still holds these chunks.
type RenewRequest struct {
	IDs []uint64 `json:"ids"`
}

// JoinRequest adds a master to the Raft group as a voter.
type JoinRequest struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raftAddr"`
	HTTPAddr string `json:"httpAddr"`
}

// ChunkServer is a chunk server's registry record plus its soft state.
type ChunkServer struct {
	ID            string `json:"id"`
	Address       string `json:"address"`
	Rack          string `json:"rack,omitempty"`
	State         string `json:"state"`
	Chunks        int    `json:"chunks"`
	UsedBytes     int64  `json:"usedBytes"`
	CapacityBytes int64  `json:"capacityBytes"`
	// LastHeartbeatAgeMs is -1 when no heartbeat has been seen.
	LastHeartbeatAgeMs int64 `json:"lastHeartbeatAgeMs"`
}

// User is an account that owns access keys.
type User struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// AccessKey is an S3 key pair owned by a user.
type AccessKey struct {
	AccessKey string    `json:"accessKey"`
	SecretKey string    `json:"secretKey,omitempty"`
	User      string    `json:"user"`
	Created   time.Time `json:"created"`
}

// Member is one voter of the master group as the status reports it.
type Member struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	RaftAddr string `json:"raftAddress"`
	State    string `json:"state"`
}

// ChunkCounts are the cluster's chunk health counters.
type ChunkCounts struct {
	Total           int `json:"total"`
	UnderReplicated int `json:"underReplicated"`
	OverReplicated  int `json:"overReplicated"`
	Missing         int `json:"missing"`
	Corrupt         int `json:"corrupt"`
	PendingDeletes  int `json:"pendingDeletes"`
}

// Status is the cluster status of `granary admin status --json`.
type Status struct {
	Leader       string        `json:"leader"`
	SafeMode     bool          `json:"safeMode"`
	Term         uint64        `json:"term"`
	CommitIndex  uint64        `json:"commitIndex"`
	AppliedIndex uint64        `json:"appliedIndex"`
	Members      []Member      `json:"members"`
	ChunkServers []ChunkServer `json:"chunkservers"`
	Chunks       ChunkCounts   `json:"chunks"`
	Repair       RepairStats   `json:"repair"`
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
	ID       string `json:"id"`
	State    string `json:"state"`
	Leader   string `json:"leader"`
	LeaderID string `json:"leaderId"`
	Ready    bool   `json:"ready"`
	// Applied is the last log index reflected in this member's state.
	Applied uint64 `json:"applied"`
}

// RegisterRequest adds or updates a chunk server in the registry.
type RegisterRequest struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	Rack    string `json:"rack,omitempty"`
}

// HeartbeatRequest is a chunk server's periodic report. A full report
// (Full) lists every chunk the server holds in Report; otherwise Added and
// Removed carry the changes since the previous heartbeat.
type HeartbeatRequest struct {
	ID            string   `json:"id"`
	UsedBytes     int64    `json:"usedBytes"`
	CapacityBytes int64    `json:"capacityBytes"`
	Chunks        int      `json:"chunks"`
	Full          bool     `json:"full,omitempty"`
	Report        []uint64 `json:"report,omitempty"`
	Added         []uint64 `json:"added,omitempty"`
	Removed       []uint64 `json:"removed,omitempty"`
	// Corrupt lists chunks that failed verification here (scrubber or
	// reads) since the last heartbeat.
	Corrupt []uint64 `json:"corrupt,omitempty"`
	// Failed lists copy commands that failed, so the master can retry
	// elsewhere at once.
	Failed []uint64 `json:"failed,omitempty"`
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
	// CmdCopy asks the server to fetch Chunk from Source and store it.
	CmdCopy = "copy"
	// CmdDelete asks the server to delete Chunk.
	CmdDelete = "delete"
)

// Command is one instruction from the master to a chunk server.
type Command struct {
	Op     string `json:"op"`
	Chunk  uint64 `json:"chunk"`
	Source Target `json:"source,omitempty"`
}

// CreateUserRequest creates a user.
type CreateUserRequest struct {
	Name string `json:"name"`
}

// CreateKeyRequest creates an access key for a user; empty key fields are
// generated.
type CreateKeyRequest struct {
	User      string `json:"user"`
	AccessKey string `json:"accessKey,omitempty"`
	SecretKey string `json:"secretKey,omitempty"`
}

// Multipart upload limits (S3's).
const (
	MaxPartNumber = 10000
	MinPartSize   = 5 << 20
)

// Upload is an in-progress multipart upload.
type Upload struct {
	ID          string            `json:"id"`
	Bucket      string            `json:"bucket"`
	Key         string            `json:"key"`
	Created     time.Time         `json:"created"`
	ContentType string            `json:"contentType,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
	// ObjectHeaders are copied to the object on completion (Checksum
	// aside: the completion names the object's).
	ObjectHeaders
}

// Part is one uploaded part of a multipart upload.
type Part struct {
	Number   int       `json:"number"`
	ETag     string    `json:"etag"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
	Extents  []Extent  `json:"extents,omitempty"`
	// Checksum is the part's base64 checksum in its upload's algorithm,
	// when it has one (at most MaxChecksumLen bytes).
	Checksum string `json:"checksum,omitempty"`
}

// PartRequest commits an uploaded part (its chunks are written).
type PartRequest struct {
	Bucket   string         `json:"bucket"`
	UploadID string         `json:"uploadId"`
	Part     Part           `json:"part"`
	Written  []ChunkTargets `json:"written,omitempty"`
}

// CompletePart names a part, with the ETag the client saw, in a completion.
type CompletePart struct {
	Number int    `json:"number"`
	ETag   string `json:"etag"`
}

// CompleteRequest stitches parts into an object. IfETag and IfNoneMatch
// make it conditional on the object the upload would replace, checked in
// the same replicated step that completes it: IfETag (S3's If-Match,
// quotes ignored) requires the current object to have that ETag
// (CodeNoSuchKey when there is none), IfNoneMatch (If-None-Match: *)
// requires that there is none. A failed condition leaves the upload as it
// was.
type CompleteRequest struct {
	Bucket      string         `json:"bucket"`
	UploadID    string         `json:"uploadId"`
	Parts       []CompletePart `json:"parts"`
	IfETag      string         `json:"ifETag,omitempty"`
	IfNoneMatch bool           `json:"ifNoneMatch,omitempty"`
	// Checksum becomes the object's checksum value, in the algorithm and
	// type its upload was created with (the caller computes it from the
	// parts' checksums; the master stores it as given).
	Checksum string `json:"checksum,omitempty"`
}

// UploadRef names an upload.
type UploadRef struct {
	Bucket   string `json:"bucket"`
	UploadID string `json:"uploadId"`
}
