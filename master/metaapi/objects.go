package metaapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/meta/validate"
	"github.com/granary-store/granary/master/wire"
)

func (a *API) handleCommit(w http.ResponseWriter, r *http.Request) {
	var req proto.CommitRequest
	if err := wire.DecodeObject(r, &req, &req.Object.Inline); err != nil {
		wire.WriteError(w, err)
		return
	}
	obj, err := a.Commit(r.Context(), wire.RequestID(r), req)
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, obj)
}

// Commit does the commit route's work for a caller in this process (the
// route decodes the request, then calls it): it makes req's object, once
// validated, its key's current version, applied at most once under the
// request id id, and returns it as committed, without its inline bytes.
// Errors are as the route answers them (wire.Body maps them).
func (a *API) Commit(ctx context.Context, id string, req proto.CommitRequest) (proto.Object, error) {
	obj := req.Object
	obj.Modified = a.now().UTC().Truncate(time.Millisecond)
	obj.Version = 0
	if err := validate.Object(&obj); err != nil {
		return proto.Object{}, err
	}
	cmd := meta.PutObject{Object: obj, IfVersion: req.IfVersion, IfETag: req.IfETag}
	v, vid, err := a.commitObject(ctx, id, cmd, req.Written)
	if err != nil {
		return proto.Object{}, err
	}
	obj.Version, obj.VersionID = v, vid
	obj.Inline = nil
	return obj, nil
}

func (a *API) handleStat(w http.ResponseWriter, r *http.Request) {
	if o, ok := a.Lookup(w, r); ok {
		wire.WriteJSON(w, http.StatusOK, o)
	}
}

// Lookup reads the object named by the bucket and key query parameters,
// after the read barrier: its current version, the version versionId
// names (maybe a delete marker), or with latest=1 its newest version
// (maybe a delete marker). On failure it has answered the request.
func (a *API) Lookup(w http.ResponseWriter, r *http.Request) (*proto.Object, bool) {
	q := r.URL.Query()
	bucket, key := q.Get("bucket"), q.Get("key")
	if err := validBucketKey(bucket, key); err != nil {
		wire.WriteError(w, err)
		return nil, false
	}
	if !a.consistent(w, r) {
		return nil, false
	}
	var o *proto.Object
	var err error
	switch vid := q.Get("versionId"); {
	case vid != "":
		o, err = a.fsm.ObjectVersion(bucket, key, vid)
	case q.Get("latest") == "1":
		o, err = a.fsm.Latest(bucket, key)
	default:
		o, err = a.fsm.Object(bucket, key)
	}
	if err != nil {
		wire.WriteError(w, err)
		return nil, false
	}
	return o, true
}

func (a *API) handleDelete(w http.ResponseWriter, r *http.Request) {
	var req proto.DeleteRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := validBucketKey(req.Bucket, req.Key); err != nil {
		wire.WriteError(w, err)
		return
	}
	cmd := meta.DeleteObject{Bucket: req.Bucket, Key: req.Key, IfETag: req.IfETag, IfSize: req.IfSize,
		IfModified: req.IfModified, VersionID: req.VersionID, BypassGovernance: req.BypassGovernance}
	at := a.now().UTC().Truncate(time.Millisecond)
	cmd.At = &at // the time of a delete marker, if the bucket is versioned
	res, err := a.p.ApplyRequest(r.Context(), wire.RequestID(r), meta.OpDeleteObject, cmd)
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	dr, versioned := res.(proto.DeleteResult)
	if versioned || r.URL.Query().Get("answer") == "1" {
		wire.WriteJSON(w, http.StatusOK, dr) // the zero result in a bucket never versioned
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleVersioning sets a bucket's versioning state.
func (a *API) handleVersioning(w http.ResponseWriter, r *http.Request) {
	var req proto.VersioningRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := proto.ValidBucketName(req.Bucket); err != nil {
		wire.WriteError(w, err)
		return
	}
	if req.Status != proto.VersioningEnabled && req.Status != proto.VersioningSuspended {
		wire.WriteError(w, fmt.Errorf("versioning status %q is not Enabled or Suspended: %w", req.Status, meta.ErrInvalid))
		return
	}
	cmd := meta.SetVersioning{Bucket: req.Bucket, Status: req.Status}
	a.change(w, r, meta.OpSetVersioning, cmd)
}

// handleVersions lists object versions.
func (a *API) handleVersions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := proto.VersionsRequest{Bucket: q.Get("bucket"), Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"),
		KeyMarker: q.Get("key-marker"), VersionIDMarker: q.Get("version-id-marker")}
	var err error
	if req.MaxKeys, err = wire.QueryInt(r, "max-keys", proto.MaxListKeys); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := validListing(req.Bucket, "prefix, delimiter and markers", req.Prefix, req.Delimiter, req.KeyMarker, req.VersionIDMarker); err != nil {
		wire.WriteError(w, err)
		return
	}
	a.read(w, r, func() (any, error) { return a.fsm.ListVersions(req) })
}

func (a *API) handleRename(w http.ResponseWriter, r *http.Request) {
	var req proto.RenameRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := validBucketKey(req.Bucket, req.From); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := proto.ValidKey(req.To); err != nil {
		wire.WriteError(w, err)
		return
	}
	cmd := meta.RenameObject{Bucket: req.Bucket, From: req.From, To: req.To, Modified: a.now().UTC().Truncate(time.Millisecond)}
	a.counted(w, r, meta.OpRenameObject, cmd, "version")
}

// handleRenamePrefix moves a directory's keys in one command and answers
// how many moved.
func (a *API) handleRenamePrefix(w http.ResponseWriter, r *http.Request) {
	var req proto.RenameRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := validBucketKey(req.Bucket, req.From); err != nil {
		wire.WriteError(w, err)
		return
	}
	cmd := meta.RenamePrefix{Bucket: req.Bucket, From: req.From, To: req.To, Modified: a.now().UTC().Truncate(time.Millisecond)}
	a.counted(w, r, meta.OpRenamePrefix, cmd, "moved")
}

// handleReplaceExtents records where the new chunks were written, then
// swaps an object's extents for that new layout of its bytes
// (compare-and-set on its version).
func (a *API) handleReplaceExtents(w http.ResponseWriter, r *http.Request) {
	var req proto.ReplaceExtentsRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := validBucketKey(req.Bucket, req.Key); err != nil {
		wire.WriteError(w, err)
		return
	}
	if len(req.Extents) > proto.MaxExtents {
		wire.WriteError(w, fmt.Errorf("replace extents: %d extents exceed %d: %w", len(req.Extents), proto.MaxExtents, meta.ErrTooLarge))
		return
	}
	cmd := meta.ReplaceExtents{Bucket: req.Bucket, Key: req.Key, IfVersion: req.IfVersion, Extents: req.Extents}
	a.cfg.Written(req.Written) // before: a reader may locate the new extents at once
	a.counted(w, r, meta.OpReplaceExtents, cmd, "version")
}

// handleSetMeta replaces an object's user metadata in place.
func (a *API) handleSetMeta(w http.ResponseWriter, r *http.Request) {
	var req proto.SetMetaRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := validBucketKey(req.Bucket, req.Key); err != nil {
		wire.WriteError(w, err)
		return
	}
	cmd := meta.SetMeta{Bucket: req.Bucket, Key: req.Key, IfETag: req.IfETag, Meta: req.Meta, Modified: a.now().UTC().Truncate(time.Millisecond)}
	a.counted(w, r, meta.OpSetMeta, cmd, "version")
}

func (a *API) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := proto.ListRequest{
		Bucket: q.Get("bucket"), Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"),
		StartAfter: q.Get("start-after"),
	}
	var err error
	if req.MaxKeys, err = wire.QueryInt(r, "max-keys", proto.MaxListKeys); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := validListing(req.Bucket, "prefix, delimiter and start-after", req.Prefix, req.Delimiter, req.StartAfter); err != nil {
		wire.WriteError(w, err)
		return
	}
	a.read(w, r, func() (any, error) { return a.fsm.List(req) })
}

// validListing checks a listing's bucket name and that each of its
// strings (named by what, for the error) fits in a key.
func validListing(bucket, what string, params ...string) error {
	if err := proto.ValidBucketName(bucket); err != nil {
		return err
	}
	for _, p := range params {
		if len(p) > proto.MaxKeyLen {
			return wire.CodeError(proto.CodeBadRequest, fmt.Sprintf("%s are limited to %d bytes", what, proto.MaxKeyLen))
		}
	}
	return nil
}

// change proposes cmd as a deduplicated request and answers 204, or the
// error.
func (a *API) change(w http.ResponseWriter, r *http.Request, op meta.Op, cmd any) {
	if _, err := a.p.ApplyRequest(r.Context(), wire.RequestID(r), op, cmd); err != nil {
		wire.WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// counted applies a change whose result is a number (a version, keys
// moved) and answers {name: number}, or the error.
func (a *API) counted(w http.ResponseWriter, r *http.Request, op meta.Op, cmd any, name string) {
	n, err := a.p.ApplyRequest(r.Context(), wire.RequestID(r), op, cmd)
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, map[string]uint64{name: n.(uint64)})
}

// read answers a consistent read with fn's result as JSON, or its error.
func (a *API) read(w http.ResponseWriter, r *http.Request, fn func() (any, error)) {
	if !a.consistent(w, r) {
		return
	}
	res, err := fn()
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, res)
}

func validBucketKey(bucket, key string) error {
	if err := proto.ValidBucketName(bucket); err != nil {
		return err
	}
	return proto.ValidKey(key)
}

// handleTags replaces an object's tag set.
func (a *API) handleTags(w http.ResponseWriter, r *http.Request) {
	var req proto.TagsRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := validBucketKey(req.Bucket, req.Key); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := validate.Tagging(req.Tagging); err != nil {
		wire.WriteError(w, err)
		return
	}
	if req.VersionID != "" {
		if _, _, ok := proto.ParseVersionID(req.VersionID); !ok {
			wire.WriteError(w, fmt.Errorf("version id %q: %w", req.VersionID, meta.ErrInvalid))
			return
		}
	}
	cmd := meta.PutObjectTags{Bucket: req.Bucket, Key: req.Key, Tagging: req.Tagging, VersionID: req.VersionID}
	a.change(w, r, meta.OpPutObjectTags, cmd)
}
