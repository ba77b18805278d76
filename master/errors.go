package master

import (
	"errors"

	"github.com/granary-store/granary/master/meta"
)

// Sentinel errors of the master. API handlers map them to proto codes in
// one place (errorBody in api.go). The state's refusals are meta's
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
