package master

import (
	"errors"
	"net/http"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
)

// Sentinel errors of the master. The API maps them to codes and statuses
// in one place (errorBody and httpStatus below). The state's refusals are meta's
// sentinels under the names callers have always used.
var (
	// ErrNoSuchBucket means the named bucket does not exist.
	ErrNoSuchBucket = meta.ErrNoSuchBucket
	// ErrBucketExists means a bucket of that name already exists.
	ErrBucketExists = meta.ErrBucketExists
	// ErrBucketNotEmpty means a bucket still holds objects.
	ErrBucketNotEmpty = meta.ErrBucketNotEmpty
	// ErrNoSuchKey means the named object does not exist.
	ErrNoSuchKey = meta.ErrNoSuchKey
	// ErrPrecondition means a conditional commit found another version.
	ErrPrecondition = meta.ErrPrecondition
	// ErrNotFound means a registry entry (node, member, user, key) is absent.
	ErrNotFound = meta.ErrNotFound
	// ErrInvalid means a request or command broke a validation rule.
	ErrInvalid = meta.ErrInvalid
	// ErrTooLarge means metadata exceeds a limit.
	ErrTooLarge = meta.ErrTooLarge
	// ErrBadCommand means a log entry could not be decoded.
	ErrBadCommand = meta.ErrBadCommand
	// ErrUnknownVersion means a log entry uses an encoding this build does
	// not know.
	ErrUnknownVersion = meta.ErrUnknownVersion
	// ErrFSMFailed means the state store hit a storage error and this member
	// stopped applying commands; it must be restarted.
	ErrFSMFailed = meta.ErrFSMFailed
	// ErrRequestExpired means a request id was issued too long before the
	// change was proposed for the master to still know whether it applied.
	ErrRequestExpired = meta.ErrRequestExpired
	// ErrNoSuchUpload means the upload does not exist (or is finished).
	ErrNoSuchUpload = meta.ErrNoSuchUpload
	// ErrInvalidPart means a completion names a part that is missing or
	// whose ETag differs.
	ErrInvalidPart = meta.ErrInvalidPart
	// ErrInvalidPartOrder means completion parts are not in ascending order.
	ErrInvalidPartOrder = meta.ErrInvalidPartOrder
	// ErrEntityTooSmall means a part other than the last is under 5 MiB.
	ErrEntityTooSmall = meta.ErrEntityTooSmall
	// ErrConflict means a change conflicts with other state (a user that
	// owns a bucket, an access policy attached to a user).
	ErrConflict = meta.ErrConflict
)

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

// errContext marks a read that gave up because its caller's context ended.
var errContext = errors.New("deadline")

// errorBody describes err as the API answers it: the code of the state's
// sentinel it wraps (meta.Code, the table outcome records use), else the
// code of the master's own, with that code's status (httpStatus).
func errorBody(err error) *proto.Error {
	code := meta.Code(err)
	if code == proto.CodeInternal {
		code = masterCode(err)
	}
	return codeError(code, err.Error())
}

// masterCode is the code of the master's own sentinels.
func masterCode(err error) proto.Code {
	switch {
	case errors.Is(err, ErrNotLeader):
		return proto.CodeNotLeader
	case errors.Is(err, ErrUnavailable), errors.Is(err, ErrClosed), errors.Is(err, errContext), errors.Is(err, ErrNotReady):
		return proto.CodeUnavailable
	case errors.Is(err, ErrNoServers):
		return proto.CodeNoServers
	case errors.Is(err, ErrNoSpace):
		return proto.CodeNoSpace
	}
	return proto.CodeInternal
}

// codeError is an error body with the status of its code.
func codeError(code proto.Code, msg string) *proto.Error {
	status, retryable := httpStatus(code)
	return &proto.Error{Code: code, Message: msg, Status: status, Retryable: retryable}
}

// httpStatus is the one place that maps an error code to the HTTP status
// the API answers with, and says whether a retry may succeed.
func httpStatus(code proto.Code) (status int, retryable bool) {
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
