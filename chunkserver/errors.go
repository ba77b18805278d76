package chunkserver

import (
	"errors"
	"net/http"

	"github.com/granary-store/granary/chunkserver/disk"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/rpc"
)

// errBadRequest marks a request the data plane cannot parse: a bad chunk
// id, pipeline header or missing Content-Length.
var errBadRequest = errors.New("bad request")

// writeError is the one place that maps errors to statuses and codes.
func writeError(w http.ResponseWriter, err error) {
	var e *proto.Error
	if !errors.As(err, &e) {
		e = &proto.Error{Code: codeOf(err), Message: err.Error(), Status: statusOf(err)}
	}
	rpc.WriteError(w, e)
}

func codeOf(err error) proto.Code {
	switch {
	case errors.Is(err, disk.ErrNotFound):
		return proto.CodeNotFound
	case errors.Is(err, disk.ErrExists):
		return proto.CodeConflict
	case errors.Is(err, disk.ErrRange):
		return proto.CodeInvalidRange
	case errors.Is(err, disk.ErrNoSpace):
		return proto.CodeNoSpace
	case errors.Is(err, disk.ErrTooLarge):
		return proto.CodeTooLarge
	case errors.Is(err, disk.ErrCorrupt):
		return proto.CodeCorrupt
	case errors.Is(err, disk.ErrSizeMismatch), errors.Is(err, errBadRequest), errors.Is(err, proto.ErrInvalidName),
		errors.Is(err, proto.ErrBadBatch):
		return proto.CodeBadRequest
	case errors.Is(err, disk.ErrClosed):
		return proto.CodeUnavailable
	}
	return proto.CodeInternal
}

func statusOf(err error) int {
	return map[proto.Code]int{
		proto.CodeNotFound: http.StatusNotFound, proto.CodeConflict: http.StatusConflict,
		proto.CodeInvalidRange: http.StatusRequestedRangeNotSatisfiable, proto.CodeNoSpace: http.StatusInsufficientStorage,
		proto.CodeTooLarge: http.StatusRequestEntityTooLarge, proto.CodeCorrupt: http.StatusInternalServerError,
		proto.CodeBadRequest: http.StatusBadRequest, proto.CodeUnavailable: http.StatusServiceUnavailable,
		proto.CodeInternal: http.StatusInternalServerError,
	}[codeOf(err)]
}
