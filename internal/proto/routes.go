package proto

import (
	"fmt"
	"strings"
)

// APIPrefix is the versioned root of every master HTTP route.
const APIPrefix = "/v1"

// Routes of the master HTTP API, relative to the server root.
const (
	RouteHealth       = APIPrefix + "/health"
	RouteStatus       = APIPrefix + "/status"
	RouteJoin         = APIPrefix + "/cluster/join"
	RouteMembers      = APIPrefix + "/cluster/members"
	RouteBuckets      = APIPrefix + "/buckets"
	RouteObjectCommit = APIPrefix + "/objects/commit"
	RouteObjectStat   = APIPrefix + "/objects/stat"
	RouteObjectDelete = APIPrefix + "/objects/delete"
	RouteObjectRename = APIPrefix + "/objects/rename"
	// RoutePrefixRename is POSTed a RenameRequest whose From and To are
	// directory prefixes (ending in "/"): every key under From moves.
	RoutePrefixRename = APIPrefix + "/objects/renameprefix"
	// RouteReplaceExtents is POSTed a ReplaceExtentsRequest.
	RouteReplaceExtents = APIPrefix + "/objects/extents"
	// RouteObjectMeta is POSTed a SetMetaRequest.
	RouteObjectMeta    = APIPrefix + "/objects/meta"
	RouteObjectList    = APIPrefix + "/objects/list"
	RouteChunkAllocate = APIPrefix + "/chunks/allocate"
	RouteChunkCorrupt  = APIPrefix + "/chunks/corrupt"
	RouteChunkRenew    = APIPrefix + "/chunks/renew"
	RouteObjectLocate  = APIPrefix + "/objects/locate"
	RouteConfig        = APIPrefix + "/config"
	RouteUploads       = APIPrefix + "/uploads"
	// RouteChunkData is the chunk server's data plane: PUT, GET, DELETE
	// RouteChunkData+"/{id}" and GET RouteChunkData+"/{id}/stat".
	RouteChunkData = APIPrefix + "/chunk"
	// RouteChunkBatch is POSTed a ChunkBatchRequest; it answers with the
	// chunks in the batch stream format (see ChunkBatchRequest).
	RouteChunkBatch   = RouteChunkData + "/batch"
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
	// MaxCopyBatch bounds the chunks of one batch read (and of one copy
	// command with More).
	MaxCopyBatch = 1024
	// MaxObjectHeaders bounds the total size of an ObjectHeaders.
	MaxObjectHeaders = 8 << 10
	// MaxChecksumLen bounds a checksum value (a part's or an object's).
	MaxChecksumLen = 128
)

// FormatPipeline encodes pipeline targets for HeaderPipeline.
func FormatPipeline(ts []Target) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = string(t.ID) + "@" + t.Address
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
		out[i] = Target{ID: NodeID(id), Address: addr}
	}
	return out, nil
}
