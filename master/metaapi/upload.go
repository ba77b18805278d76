package metaapi

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/meta/validate"
	"github.com/granary-store/granary/master/wire"
)

func (a *API) handleCreateUpload(w http.ResponseWriter, r *http.Request) {
	var u proto.Upload
	if err := wire.Decode(r, &u); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := validBucketKey(u.Bucket, u.Key); err != nil {
		wire.WriteError(w, err)
		return
	}
	check := proto.Object{Bucket: u.Bucket, Key: u.Key, ContentType: u.ContentType, Meta: u.Meta, ObjectHeaders: u.ObjectHeaders}
	if err := validate.Object(&check); err != nil {
		wire.WriteError(w, err)
		return
	}
	u.ID = randomString(32, "abcdefghijklmnopqrstuvwxyz0123456789")
	u.Created = a.now().UTC().Truncate(time.Millisecond)
	res, err := a.p.ApplyRequest(r.Context(), wire.RequestID(r), meta.OpCreateUpload, meta.CreateUpload{Upload: u})
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, res.(proto.Upload)) // a repeated request gets the first upload
}

func (a *API) handlePutPart(w http.ResponseWriter, r *http.Request) {
	var req proto.PartRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := proto.ValidBucketName(req.Bucket); err != nil {
		wire.WriteError(w, err)
		return
	}
	req.Part.Modified = a.now().UTC().Truncate(time.Millisecond)
	cmd := meta.PutPart{Bucket: req.Bucket, UploadID: req.UploadID, Part: req.Part}
	if err := a.putPart(r.Context(), wire.RequestID(r), cmd, req.Written); err != nil {
		wire.WriteError(w, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, req.Part)
}

func (a *API) handleCompleteUpload(w http.ResponseWriter, r *http.Request) {
	var req proto.CompleteRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	if len(req.Parts) > proto.MaxPartNumber {
		wire.WriteError(w, fmt.Errorf("%d parts: %w", len(req.Parts), meta.ErrInvalidPart))
		return
	}
	base := proto.Object{Modified: a.now().UTC().Truncate(time.Millisecond)}
	v, err := a.p.ApplyRequest(r.Context(), wire.RequestID(r), meta.OpCompleteUpload, meta.CompleteUpload{Req: req, Object: base})
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, v.(proto.Object))
}

func (a *API) handleAbortUpload(w http.ResponseWriter, r *http.Request) {
	var ref proto.UploadRef
	if err := wire.Decode(r, &ref); err != nil {
		wire.WriteError(w, err)
		return
	}
	a.change(w, r, meta.OpAbortUpload, meta.AbortUpload{Ref: ref})
}

// handleListParts answers GET /v1/uploads/parts?bucket&uploadId: the
// upload and its parts (extents omitted).
func (a *API) handleListParts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !a.consistent(w, r) {
		return
	}
	var out struct {
		Upload proto.Upload `json:"upload"`
		Parts  []proto.Part `json:"parts"`
	}
	var err error
	out.Upload, out.Parts, err = a.fsm.Upload(q.Get("bucket"), q.Get("uploadId"))
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	for i := range out.Parts {
		out.Parts[i].Extents = nil
	}
	wire.WriteJSON(w, http.StatusOK, out)
}

// handleListUploads answers GET /v1/uploads?bucket&prefix&max: in-progress
// uploads ordered by key, then upload id.
func (a *API) handleListUploads(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	bucket, prefix := q.Get("bucket"), q.Get("prefix")
	max, err := strconv.Atoi(q.Get("max"))
	if err != nil || max <= 0 || max > 1000 {
		max = 1000
	}
	if err := proto.ValidBucketName(bucket); err != nil {
		wire.WriteError(w, err)
		return
	}
	if !a.consistent(w, r) {
		return
	}
	out, err := a.fsm.Uploads(bucket, prefix, max)
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	sortUploads(out)
	wire.WriteJSON(w, http.StatusOK, out)
}

func sortUploads(us []proto.Upload) {
	slices.SortFunc(us, func(a, b proto.Upload) int { return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.ID, b.ID)) })
}
