package master

import (
	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/master/wire"
)

// Sentinel errors of the master. The API maps them to codes and statuses
// in one place (wire.Body and wire.Status). The state's refusals are meta's
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
	ErrNotLeader = wire.ErrNotLeader
	// ErrClosed means the server was closed.
	ErrClosed = wire.ErrClosed
	// ErrUnavailable means a proposal's outcome is unknown (leadership was
	// lost or the deadline passed after it was sent); the caller may retry,
	// and the retried change may meet its own earlier effect.
	ErrUnavailable = wire.ErrUnavailable
	// ErrNoServers means placement found too few eligible chunk servers.
	ErrNoServers = wire.ErrNoServers
	// ErrNoSpace means enough chunk servers are alive but too few have
	// room: retrying does not help until space is freed or servers are
	// added.
	ErrNoSpace = wire.ErrNoSpace
	// ErrNotReady means the leader cannot answer yet: it took over recently
	// and the chunk servers' reports, which say where replicas are, are not
	// all in. The caller may retry in a moment.
	ErrNotReady = wire.ErrNotReady
)
