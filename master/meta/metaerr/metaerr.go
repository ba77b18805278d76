// Package metaerr holds the errors of the replicated state: the sentinels a
// command is refused with, the code each maps to (Code), and a refusal as a
// request's outcome records it (RecordedError, stored in dedup records as
// {"code":...,"message":...}). master/meta re-exports every name, so
// meta.ErrNoSuchBucket and metaerr.ErrNoSuchBucket are the same value; the
// domain packages under master/meta return these.
package metaerr

import (
	"errors"
	"fmt"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/validate"
)

// Sentinel errors of the replicated state. A command refused with one of
// them is refused identically on every replica; the master maps them to
// HTTP statuses in its API, and Code maps them to the codes a request's
// outcome records.
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
	// ErrNoSuchVersion means the named object version does not exist; it
	// is an ErrNotFound (the API's CodeNotFound).
	ErrNoSuchVersion = fmt.Errorf("no such version: %w", ErrNotFound)
	// ErrInvalid means a request or command broke a validation rule.
	ErrInvalid = validate.ErrInvalid
	// ErrTooLarge means metadata exceeds a limit.
	ErrTooLarge = validate.ErrTooLarge
	// ErrBadCommand means a log entry could not be decoded.
	ErrBadCommand = errors.New("malformed command")
	// ErrUnknownVersion means a log entry uses an encoding this build does
	// not know.
	ErrUnknownVersion = errors.New("unknown command version")
	// ErrFSMFailed means the state store hit a storage error and this member
	// stopped applying commands; it must be restarted.
	ErrFSMFailed = errors.New("state machine failed")
	// ErrRequestExpired means a request id was issued too long before the
	// change was proposed for the master to still know whether it applied.
	ErrRequestExpired = errors.New("request expired")
	// ErrNoSuchUpload means the upload does not exist (or is finished).
	ErrNoSuchUpload = errors.New("no such upload")
	// ErrInvalidPart means a completion names a part that is missing or
	// whose ETag differs.
	ErrInvalidPart = errors.New("invalid part")
	// ErrInvalidPartOrder means completion parts are not in ascending order.
	ErrInvalidPartOrder = errors.New("invalid part order")
	// ErrEntityTooSmall means a part other than the last is under 5 MiB.
	ErrEntityTooSmall = errors.New("part too small")
	// ErrLocked means an object lock forbids the change: removing a
	// retained or held version, or shortening a retention.
	ErrLocked = errors.New("object locked")
	// ErrConflict means the change conflicts with other state: a user
	// that owns a bucket, a policy attached to a user.
	ErrConflict = errors.New("conflict")
)

// codes maps the sentinels to the codes outcomes record, first match
// first (the order of the master's API table).
var codes = []struct {
	target error
	code   proto.Code
}{
	{ErrNoSuchBucket, proto.CodeNoSuchBucket},
	{ErrBucketExists, proto.CodeBucketExists},
	{ErrBucketNotEmpty, proto.CodeBucketNotEmpty},
	{ErrNoSuchKey, proto.CodeNoSuchKey},
	{ErrPrecondition, proto.CodePrecondition},
	{ErrNotFound, proto.CodeNotFound},
	{ErrTooLarge, proto.CodeTooLarge},
	{ErrInvalid, proto.CodeBadRequest},
	{proto.ErrInvalidName, proto.CodeBadRequest},
	{ErrUnknownVersion, proto.CodeUnknownVersion},
	{ErrRequestExpired, proto.CodeBadRequest},
	{ErrBadCommand, proto.CodeBadRequest},
	{ErrNoSuchUpload, proto.CodeNoSuchUpload},
	{ErrInvalidPart, proto.CodeInvalidPart},
	{ErrInvalidPartOrder, proto.CodeInvalidPartOrder},
	{ErrEntityTooSmall, proto.CodeEntityTooSmall},
	{ErrLocked, proto.CodeLocked},
	{ErrConflict, proto.CodeConflict},
	{proto.ErrInvalidAccess, proto.CodeBadRequest},
}

// Code returns the code of a command error: the code of the first
// sentinel it wraps, or proto.CodeInternal.
func Code(err error) proto.Code {
	for _, c := range codes {
		if errors.Is(err, c.target) {
			return c.code
		}
	}
	return proto.CodeInternal
}

// RecordedError is a refusal as a request's outcome records it, and as a
// repeat of the request gets it back. It wraps the sentinel of its code
// (the first one listed for it), so callers branch on it with errors.Is.
type RecordedError struct {
	Code    proto.Code `json:"code"`
	Message string     `json:"message"`
}

func (e *RecordedError) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Unwrap returns the sentinel of the code, or nil for codes without one.
func (e *RecordedError) Unwrap() error {
	for _, c := range codes {
		if c.code == e.Code {
			return c.target
		}
	}
	return nil
}

// Record returns err as an outcome records it.
func Record(err error) *RecordedError {
	return &RecordedError{Code: Code(err), Message: err.Error()}
}
