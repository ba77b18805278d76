package master

import "errors"

// Sentinel errors of the master. API handlers map them to proto codes in
// one place (errorCode in api.go).
var (
	// ErrNoSuchBucket means the named bucket does not exist.
	ErrNoSuchBucket = errors.New("no such bucket")
	// ErrBucketExists means a bucket of that name already exists.
	ErrBucketExists = errors.New("bucket already exists")
	// ErrBucketNotEmpty means a bucket still holds objects.
	ErrBucketNotEmpty = errors.New("bucket not empty")
	// ErrNoSuchKey means the named object does not exist.
	ErrNoSuchKey = errors.New("no such key")
	// ErrPrecondition means a conditional commit found another version.
	ErrPrecondition = errors.New("precondition failed")
	// ErrNotFound means a registry entry (node, member, user, key) is absent.
	ErrNotFound = errors.New("not found")
	// ErrInvalid means a request or command broke a validation rule.
	ErrInvalid = errors.New("invalid request")
	// ErrTooLarge means metadata exceeds a limit.
	ErrTooLarge = errors.New("metadata too large")
	// ErrBadCommand means a log entry could not be decoded.
	ErrBadCommand = errors.New("malformed command")
	// ErrUnknownVersion means a log entry uses an encoding this build does
	// not know.
	ErrUnknownVersion = errors.New("unknown command version")
	// ErrNotLeader means this member cannot serve the request because it is
	// not the leader (or has not confirmed it); the caller may retry.
	ErrNotLeader = errors.New("not the leader")
	// ErrFSMFailed means the state store hit a storage error and this member
	// stopped applying commands; it must be restarted.
	ErrFSMFailed = errors.New("state machine failed")
	// ErrRequestExpired means a request id was issued too long before the
	// change was proposed for the master to still know whether it applied.
	ErrRequestExpired = errors.New("request expired")
	// ErrClosed means the server was closed.
	ErrClosed = errors.New("server closed")
)

// ErrUnavailable means a proposal's outcome is unknown (leadership was
// lost or the deadline passed after it was sent); the caller may retry, and
// the retried change may meet its own earlier effect.
var ErrUnavailable = errors.New("unavailable, outcome unknown")
