// Package metaapi is the master API's handlers of the namespace and of
// access: buckets and their configuration, objects, versions, multipart
// uploads, users, keys, access policies and ACLs. Each handler decodes a
// request, makes one proposal or one consistent read of the state, and
// encodes the answer (master/wire). The master mounts them on its router
// (Routes), on the leader, and wires in what they need of it.
package metaapi

import (
	"context"
	"net/http"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/wire"
)

// Proposer is the master's Raft member as the handlers use it. Its
// methods are safe for concurrent use.
type Proposer interface {
	// Apply proposes a command and waits for its result.
	Apply(ctx context.Context, o meta.Op, payload any) (any, error)
	// ApplyRequest proposes a change under the client's request id (""
	// for none), applied at most once.
	ApplyRequest(ctx context.Context, id string, o meta.Op, payload any) (any, error)
	// ReadBarrier returns once the local state holds every write
	// acknowledged before it was called.
	ReadBarrier(ctx context.Context) error
}

// Usage attaches the leader's counts to bucket records (usage.Counter).
type Usage interface {
	Attach(bs []proto.Bucket)
}

// Config is what the handlers need of the master.
type Config struct {
	Now      func() time.Time
	State    *meta.FSM
	Proposer Proposer
	Usage    Usage
	// Written records where a commit's or a part's chunks were written,
	// before the commit is proposed (the master's replica map).
	Written func(cts []proto.ChunkTargets)

	Replication    int               // a new bucket's copies when it names none
	DataPolicy     string            // a new bucket's data policy when it names none
	StorageClasses map[string]string // storage class -> data policy
}

// API is the handlers. It holds no state of its own; safe for concurrent
// use.
type API struct {
	cfg Config
	fsm *meta.FSM
	p   Proposer
}

// New returns the handlers.
func New(cfg Config) *API { return &API{cfg: cfg, fsm: cfg.State, p: cfg.Proposer} }

func (a *API) now() time.Time { return a.cfg.Now() }

// consistent runs the read barrier (wire.Consistent).
func (a *API) consistent(w http.ResponseWriter, r *http.Request) bool {
	return wire.Consistent(w, r, a.p.ReadBarrier)
}

// Routes registers the handlers through lead, which mounts one on the
// master's router to run on the leader.
func (a *API) Routes(lead func(path string, h http.HandlerFunc, methods ...string)) {
	lead(proto.RouteBuckets, a.handleListBuckets, http.MethodGet)
	lead(proto.RouteBuckets+"/{bucket}", a.handleCreateBucket, http.MethodPut)
	lead(proto.RouteBuckets+"/{bucket}", a.handleGetBucket, http.MethodGet)
	lead(proto.RouteBuckets+"/{bucket}", a.handleDeleteBucket, http.MethodDelete)
	lead(proto.RouteObjectCommit, a.handleCommit, http.MethodPost)
	lead(proto.RouteObjectStat, a.handleStat, http.MethodGet)
	lead(proto.RouteObjectDelete, a.handleDelete, http.MethodPost)
	lead(proto.RouteObjectRename, a.handleRename, http.MethodPost)
	lead(proto.RoutePrefixRename, a.handleRenamePrefix, http.MethodPost)
	lead(proto.RouteReplaceExtents, a.handleReplaceExtents, http.MethodPost)
	lead(proto.RouteObjectMeta, a.handleSetMeta, http.MethodPost)
	lead(proto.RouteObjectList, a.handleList, http.MethodGet)
	lead(proto.RouteObjectTags, a.handleTags, http.MethodPost)
	lead(proto.RouteBucketConfig, a.handleBucketConfig, http.MethodPost)
	lead(proto.RouteVersioning, a.handleVersioning, http.MethodPost)
	lead(proto.RouteObjectVersions, a.handleVersions, http.MethodGet)
	lead(proto.RouteObjectLock, a.handleLock, http.MethodPost)
	lead(proto.RouteUploads, a.handleListUploads, http.MethodGet)
	lead(proto.RouteUploads+"/create", a.handleCreateUpload, http.MethodPost)
	lead(proto.RouteUploads+"/part", a.handlePutPart, http.MethodPost)
	lead(proto.RouteUploads+"/complete", a.handleCompleteUpload, http.MethodPost)
	lead(proto.RouteUploads+"/abort", a.handleAbortUpload, http.MethodPost)
	lead(proto.RouteUploads+"/parts", a.handleListParts, http.MethodGet)
	lead(proto.RouteUsers, a.handleListUsers, http.MethodGet)
	lead(proto.RouteUsers, a.handleCreateUser, http.MethodPost)
	lead(proto.RouteKeys, a.handleCreateKey, http.MethodPost)
	lead(proto.RouteKeys, a.handleListKeys, http.MethodGet)
	lead(proto.RouteKeys+"/{key}", a.handleGetKey, http.MethodGet)
	lead(proto.RouteKeys+"/{key}", a.handleDeleteKey, http.MethodDelete)
	lead(proto.RouteKeys+"/{key}/status", a.handleKeyStatus, http.MethodPost)
	lead(proto.RouteAttach, a.handleAttach, http.MethodPost)
	lead(proto.RouteUsers+"/{name}", a.handleGetUser, http.MethodGet)
	lead(proto.RouteUsers+"/{name}", a.handleDeleteUser, http.MethodDelete)
	lead(proto.RouteAccessPolicies, a.handleListAccessPolicies, http.MethodGet)
	lead(proto.RouteAccessPolicies, a.handlePutAccessPolicy, http.MethodPost)
	lead(proto.RouteAccessPolicies+"/{name}", a.handleGetAccessPolicy, http.MethodGet)
	lead(proto.RouteAccessPolicies+"/{name}", a.handleDeleteAccessPolicy, http.MethodDelete)
	lead(proto.RouteIdentity+"/{key}", a.handleIdentity, http.MethodGet)
	lead(proto.RouteObjectACL, a.handleObjectACL, http.MethodPost)
}
