package meta

import (
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/metaerr"
)

// The errors of the replicated state, defined in metaerr (see each name's
// doc there) and the same values here. A command refused with one of them
// is refused identically on every replica; the master maps them to HTTP
// statuses in its API.
var (
	ErrNoSuchBucket     = metaerr.ErrNoSuchBucket
	ErrBucketExists     = metaerr.ErrBucketExists
	ErrBucketNotEmpty   = metaerr.ErrBucketNotEmpty
	ErrNoSuchKey        = metaerr.ErrNoSuchKey
	ErrPrecondition     = metaerr.ErrPrecondition
	ErrNotFound         = metaerr.ErrNotFound
	ErrNoSuchVersion    = metaerr.ErrNoSuchVersion
	ErrInvalid          = metaerr.ErrInvalid
	ErrTooLarge         = metaerr.ErrTooLarge
	ErrBadCommand       = metaerr.ErrBadCommand
	ErrUnknownVersion   = metaerr.ErrUnknownVersion
	ErrFSMFailed        = metaerr.ErrFSMFailed
	ErrRequestExpired   = metaerr.ErrRequestExpired
	ErrNoSuchUpload     = metaerr.ErrNoSuchUpload
	ErrInvalidPart      = metaerr.ErrInvalidPart
	ErrInvalidPartOrder = metaerr.ErrInvalidPartOrder
	ErrEntityTooSmall   = metaerr.ErrEntityTooSmall
	ErrLocked           = metaerr.ErrLocked
	ErrConflict         = metaerr.ErrConflict
)

// RecordedError is a refusal as a request's outcome records it
// (metaerr.RecordedError).
type RecordedError = metaerr.RecordedError

// Code returns the code of a command error (metaerr.Code).
func Code(err error) proto.Code { return metaerr.Code(err) }
