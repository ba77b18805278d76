package master

import (
	"fmt"
	"net/http"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/wire"
)

func (a *api) handleAllocate(w http.ResponseWriter, r *http.Request) {
	var req proto.AllocateRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	if req.Replication < 0 || req.Replication > proto.MaxPipeline || req.Size < 0 || len(req.Exclude) > 1024 {
		wire.WriteError(w, fmt.Errorf("allocate: replication 0 to %d, size >= 0 and at most 1024 exclusions: %w", proto.MaxPipeline, ErrInvalid))
		return
	}
	res, err := a.alloc.Allocate(r.Context(), req)
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, res)
}

func (a *api) handleRenew(w http.ResponseWriter, r *http.Request) {
	var req proto.RenewRequest
	if err := wire.Decode(r, &req); err != nil {
		wire.WriteError(w, err)
		return
	}
	if len(req.IDs) > proto.MaxExtents {
		wire.WriteError(w, fmt.Errorf("renew %d chunks, at most %d: %w", len(req.IDs), proto.MaxExtents, ErrTooLarge))
		return
	}
	a.heal.renew(req.IDs)
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) handleLocate(w http.ResponseWriter, r *http.Request) {
	o, ok := a.meta.Lookup(w, r)
	if !ok {
		return
	}
	l, err := a.alloc.Locate(o)
	if err != nil {
		wire.WriteError(w, err)
		return
	}
	if r.Header.Get("Accept") == proto.MediaTypeRawInline {
		wire.WriteRawInline(w, &l, &l.Object.Inline)
		return
	}
	wire.WriteJSON(w, http.StatusOK, l)
}

func (a *api) handleCorrupt(w http.ResponseWriter, r *http.Request) {
	var rep proto.CorruptReport
	if err := wire.Decode(r, &rep); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := proto.ValidID("chunk server", rep.Server); err != nil || rep.Chunk == 0 || len(rep.Reason) > 1024 {
		wire.WriteError(w, fmt.Errorf("corrupt report: a chunk id, a valid server id and a short reason are required: %w", ErrInvalid))
		return
	}
	a.heal.reportCorrupt(rep)
	w.WriteHeader(http.StatusNoContent)
}
