package mount

import (
	"context"
	"errors"
	"os"
	"syscall"

	"github.com/granary-store/granary/client"
)

// ErrBusy means the mount point is in use, so it cannot be unmounted yet.
var ErrBusy = errors.New("mount point busy: close the files and leave the directories under it (fuser -vm MOUNTPOINT lists the processes)")

// errno maps an error of the client, the spool or the kernel to the errno
// the caller of the file system sees.
func errno(err error) syscall.Errno {
	var en syscall.Errno
	switch {
	case err == nil:
		return 0
	case errors.As(err, &en):
		return en
	case errors.Is(err, client.ErrNoSuchKey), errors.Is(err, client.ErrNoSuchBucket), errors.Is(err, os.ErrNotExist):
		return syscall.ENOENT
	case errors.Is(err, client.ErrKeyExists), errors.Is(err, os.ErrExist):
		return syscall.EEXIST
	case errors.Is(err, client.ErrInvalidName):
		return syscall.EINVAL
	case errors.Is(err, client.ErrTooLarge):
		return syscall.E2BIG
	case errors.Is(err, client.ErrNoSpace):
		return syscall.ENOSPC
	case errors.Is(err, client.ErrUnauthorized):
		return syscall.EACCES
	case errors.Is(err, client.ErrPrecondition), errors.Is(err, client.ErrConflict):
		return syscall.EAGAIN
	case errors.Is(err, context.Canceled):
		return syscall.EINTR
	default:
		return syscall.EIO
	}
}
