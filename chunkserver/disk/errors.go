package disk

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// Sentinel errors of the chunk store. Every error the store returns wraps at
// most a few of these together with context (chunk id, block, path); callers
// branch with errors.Is and never compare error strings.
var (
	// ErrCorrupt reports that a chunk file failed a consistency check: a
	// block, header or trailer checksum mismatch, a bad magic number, or a
	// file length that does not match its header. The replica is bad and
	// must be replaced from another copy; retrying the read will not help.
	// It is format.ErrCorrupt, which the codecs return.
	ErrCorrupt = format.ErrCorrupt

	// ErrNotFound reports that the store holds no chunk with the given id.
	ErrNotFound = errors.New("chunk not found")

	// ErrLost reports that an indexed chunk's file is gone: deleted behind
	// the store's back, or its directory or disk lost. The store forgets
	// the chunk (it matches ErrNotFound too) and lists it in TakeLost.
	ErrLost = fmt.Errorf("chunk file lost: %w", ErrNotFound)

	// ErrExists reports a Create for an id that is already stored, or that
	// is being created or deleted at the same moment.
	ErrExists = errors.New("chunk already exists")

	// ErrRange reports an offset or length outside the chunk, or a negative
	// one.
	ErrRange = errors.New("range out of bounds")

	// ErrNoSpace reports that a data dir ran out of space (ENOSPC or
	// EDQUOT from the file system), or that no data dir has room for a
	// chunk of the declared size. Nothing of the chunk is left behind.
	ErrNoSpace = errors.New("no space")

	// ErrTooLarge reports a chunk larger than Config.MaxChunkSize, either
	// declared at Create or reached while writing.
	ErrTooLarge = errors.New("chunk too large")

	// ErrSizeMismatch reports that the bytes written to a Writer differ
	// from the size declared at Create.
	ErrSizeMismatch = errors.New("chunk size mismatch")

	// ErrClosed reports use of a Store, Writer or Reader after Close,
	// Commit or Abort.
	ErrClosed = errors.New("closed")
)

// errUnsupported marks a header whose checksum is valid but whose format
// version or checksum algorithm this build does not know (it is
// format.ErrUnsupported and wraps ErrCorrupt): the start-up scan leaves
// such files in place instead of quarantining them.
var errUnsupported = format.ErrUnsupported

// errRecordGone reports that the record an index entry names is, whole and
// valid, some other record (voided by disk.Remove, say): the chunk is not
// there, which is a loss, not corruption.
var errRecordGone = fmt.Errorf("record replaced: %w", ErrNotFound)

// spaceErr classifies an error from a write path: running out of space
// (ENOSPC, EDQUOT) is reported as ErrNoSpace, with the original error kept
// in the chain. Other errors pass through unchanged.
func spaceErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", ErrNoSpace, err)
	}
	return err
}

// notFoundErr reports a missing file as ErrNotFound, with the original error
// kept in the chain. Other errors pass through unchanged.
func notFoundErr(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}
