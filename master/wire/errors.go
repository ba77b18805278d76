package wire

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
)

// The master's own sentinel errors (the state's are master/meta's); the
// master exports them under the same names.
var (
	// ErrNotLeader means this member cannot serve the request because it is
	// not the leader (or has not confirmed it); the caller may retry.
	ErrNotLeader = errors.New("not the leader")
	// ErrClosed means the server was closed.
	ErrClosed = errors.New("server closed")
)

// ErrUnavailable means a proposal's outcome is unknown (leadership was
// lost or the deadline passed after it was sent); the caller may retry, and
// the retried change may meet its own earlier effect.
var ErrUnavailable = errors.New("unavailable, outcome unknown")

// ErrNoServers means placement found too few eligible chunk servers.
var ErrNoServers = errors.New("not enough chunk servers")

// ErrNoSpace means enough chunk servers are alive but too few have room:
// retrying does not help until space is freed or servers are added.
var ErrNoSpace = errors.New("not enough free space on the chunk servers")

// ErrNotReady means the leader cannot answer yet: it took over recently and
// the chunk servers' reports, which say where replicas are, are not all in.
// The caller may retry in a moment.
var ErrNotReady = errors.New("not ready: chunk servers are still reporting to a new leader")

// ErrContext marks a read that gave up because its caller's context ended.
var ErrContext = errors.New("deadline")

// Body describes err as the API answers it: the code of the state's
// sentinel it wraps (meta.Code, the table outcome records use), else the
// code of the master's own, with that code's status (Status).
func Body(err error) *proto.Error {
	code := meta.Code(err)
	if code == proto.CodeInternal {
		code = masterCode(err)
	}
	return CodeError(code, err.Error())
}

// masterCode is the code of the master's own sentinels.
func masterCode(err error) proto.Code {
	switch {
	case errors.Is(err, ErrNotLeader):
		return proto.CodeNotLeader
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrClosed), errors.Is(err, ErrContext), errors.Is(err, ErrNotReady):
		return proto.CodeUnavailable
	case errors.Is(err, ErrNoServers):
		return proto.CodeNoServers
	case errors.Is(err, ErrNoSpace):
		return proto.CodeNoSpace
	}
	return proto.CodeInternal
}

// CodeError is an error body with the status of its code.
func CodeError(code proto.Code, msg string) *proto.Error {
	status, retryable := Status(code)
	return &proto.Error{Code: code, Message: msg, Status: status, Retryable: retryable}
}

// Status is the one place that maps an error code to the HTTP status
// the API answers with, and says whether a retry may succeed.
func Status(code proto.Code) (status int, retryable bool) {
	switch code {
	case proto.CodeBadRequest, proto.CodeUnknownVersion, proto.CodeInvalidPart,
		proto.CodeInvalidPartOrder, proto.CodeEntityTooSmall:
		return http.StatusBadRequest, false
	case proto.CodeUnauthorized:
		return http.StatusUnauthorized, false
	case proto.CodeLocked:
		return http.StatusForbidden, false
	case proto.CodeNoSuchBucket, proto.CodeNoSuchKey, proto.CodeNotFound, proto.CodeNoSuchUpload:
		return http.StatusNotFound, false
	case proto.CodeBucketExists, proto.CodeBucketNotEmpty, proto.CodeConflict:
		return http.StatusConflict, false
	case proto.CodePrecondition:
		return http.StatusPreconditionFailed, false
	case proto.CodeTooLarge:
		return http.StatusRequestEntityTooLarge, false
	case proto.CodeNotLeader, proto.CodeUnavailable:
		return http.StatusServiceUnavailable, true
	case proto.CodeNoServers:
		return http.StatusServiceUnavailable, false
	case proto.CodeNoSpace:
		return http.StatusInsufficientStorage, false
	}
	return http.StatusInternalServerError, false
}

type staleKey struct{}

// WithStale marks a request as allowed to read stale local state (a GET
// with stale=1; Consistent then skips the barrier).
func WithStale(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), staleKey{}, true))
}

// Stale reports whether r may read stale local state (WithStale).
func Stale(r *http.Request) bool { return r.Context().Value(staleKey{}) != nil }

// Consistent runs the read barrier and reports whether the handler may
// answer from local state; otherwise it has answered the error.
func Consistent(w http.ResponseWriter, r *http.Request, barrier func(context.Context) error) bool {
	if Stale(r) {
		return true
	}
	if err := barrier(r.Context()); err != nil {
		if r.Context().Err() != nil {
			err = fmt.Errorf("%v: %w", err, ErrContext)
		}
		WriteError(w, err)
		return false
	}
	return true
}
