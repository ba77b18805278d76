package client

import (
	"errors"

	"github.com/granary-store/granary/internal/proto"
)

// Errors of the client itself.
var (
	// ErrCorrupt means every replica of some byte range failed its
	// checksum or could not be read.
	ErrCorrupt = errors.New("client: no good replica")
	// ErrNoReplica means a chunk has no live replica right now.
	ErrNoReplica = errors.New("client: no live replica")
	// ErrShortWrite means the source ended before the declared size.
	ErrShortWrite = errors.New("client: source shorter than the declared size")
	// ErrAborted is what a Writer's Close returns after Abort.
	ErrAborted = errors.New("client: write aborted")
	// ErrInvalidName means a bucket name or key is not valid, whether the
	// client or the cluster found it so.
	ErrInvalidName = errors.New("invalid name")
)

// Errors the cluster answers with. Every error a Client or Admin returns
// for such an answer satisfies errors.Is for one of these, and keeps its
// message (which names the call and the cluster's reason).
var (
	// ErrNoSuchBucket means the bucket does not exist.
	ErrNoSuchBucket = errors.New("no such bucket")
	// ErrNoSuchKey means the object does not exist.
	ErrNoSuchKey = errors.New("no such key")
	// ErrBucketExists means a bucket of that name exists already.
	ErrBucketExists = errors.New("bucket already exists")
	// ErrBucketNotEmpty means a bucket to delete still holds objects.
	ErrBucketNotEmpty = errors.New("bucket not empty")
	// ErrKeyExists means a create-only change found the key taken.
	ErrKeyExists = errors.New("key exists")
	// ErrPrecondition means a condition of a conditional change (IfETag,
	// IfVersion, IfSize, IfModified, IfNoneMatch) did not hold; nothing
	// changed.
	ErrPrecondition = errors.New("precondition failed")
	// ErrTooLarge means a record (metadata, headers, a request) is over
	// its limit.
	ErrTooLarge = errors.New("too large")
	// ErrNotFound means a named thing other than a bucket, object or
	// upload does not exist: a user, an access key, a chunk server or a
	// master.
	ErrNotFound = errors.New("not found")
	// ErrNoSuchUpload means the multipart upload does not exist (or was
	// completed or aborted).
	ErrNoSuchUpload = errors.New("no such upload")
	// ErrInvalidPart means a completion names a part that was not uploaded
	// or whose ETag differs.
	ErrInvalidPart = errors.New("invalid part")
	// ErrInvalidPartOrder means a completion's parts are not in ascending
	// order.
	ErrInvalidPartOrder = errors.New("invalid part order")
	// ErrEntityTooSmall means a part other than the last is under the
	// minimum part size.
	ErrEntityTooSmall = errors.New("entity too small")
	// ErrNoSpace means the cluster has no room for the data; retrying
	// does not help until space is freed or servers are added.
	ErrNoSpace = errors.New("no space")
	// ErrNotEnoughServers means too few chunk servers are live for the
	// data's replication right now.
	ErrNotEnoughServers = errors.New("not enough servers")
	// ErrUnavailable means the master group has no leader or could not
	// finish the call in time; the call may succeed later.
	ErrUnavailable = errors.New("unavailable")
	// ErrUnauthorized means the cluster secret was refused.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrConflict means a concurrent change got in the way.
	ErrConflict = errors.New("conflict")
	// ErrBadRequest means the cluster found the request malformed.
	ErrBadRequest = errors.New("bad request")
	// ErrLocked means an object lock forbids the change: removing a
	// retained or held version, or shortening a retention.
	ErrLocked = errors.New("object locked")
)

// sentinels maps the cluster's error codes to the errors above.
var sentinels = map[proto.Code]error{
	proto.CodeNoSuchBucket:     ErrNoSuchBucket,
	proto.CodeNoSuchKey:        ErrNoSuchKey,
	proto.CodeBucketExists:     ErrBucketExists,
	proto.CodeBucketNotEmpty:   ErrBucketNotEmpty,
	proto.CodeKeyExists:        ErrKeyExists,
	proto.CodePrecondition:     ErrPrecondition,
	proto.CodeTooLarge:         ErrTooLarge,
	proto.CodeNotFound:         ErrNotFound,
	proto.CodeNoSuchUpload:     ErrNoSuchUpload,
	proto.CodeInvalidPart:      ErrInvalidPart,
	proto.CodeInvalidPartOrder: ErrInvalidPartOrder,
	proto.CodeEntityTooSmall:   ErrEntityTooSmall,
	proto.CodeNoSpace:          ErrNoSpace,
	proto.CodeNoServers:        ErrNotEnoughServers,
	proto.CodeNotLeader:        ErrUnavailable,
	proto.CodeUnavailable:      ErrUnavailable,
	proto.CodeUnauthorized:     ErrUnauthorized,
	proto.CodeConflict:         ErrConflict,
	proto.CodeBadRequest:       ErrBadRequest,
	proto.CodeInvalidBucket:    ErrInvalidName,
	proto.CodeInvalidKey:       ErrInvalidName,
	proto.CodeLocked:           ErrLocked,
}

// apiError is an error from the cluster that also matches its sentinel.
// It unwraps to the error it classifies (one error, so errors.Unwrap
// still reaches the cause).
type apiError struct {
	err      error
	sentinel error
}

func (e *apiError) Error() string        { return e.err.Error() }
func (e *apiError) Unwrap() error        { return e.err }
func (e *apiError) Is(target error) bool { return target == e.sentinel }

// classify makes err match the sentinel of the cluster error code it
// carries, if any; other errors (nil, io.EOF, context errors) are returned
// as they are. Every exported method passes its error through it.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return err
	}
	s, ok := sentinels[proto.CodeOf(err)]
	if !ok && errors.Is(err, proto.ErrInvalidName) {
		s, ok = ErrInvalidName, true
	}
	if !ok {
		return err
	}
	return &apiError{err: err, sentinel: s}
}
