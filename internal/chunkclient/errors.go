package chunkclient

import (
	"errors"

	"github.com/granary-store/granary/internal/proto"
)

// ErrBadAnswer means a chunk server answered success with a body that
// could not be decoded.
var ErrBadAnswer = errors.New("bad answer")

// StatusError is a chunk server's error answer: its error body, with the
// HTTP status in Err.Status.
type StatusError struct {
	Err *proto.Error
}

func (e *StatusError) Error() string { return e.Err.Error() }

// Unwrap returns the server's *proto.Error, so errors.As and proto.CodeOf
// see it.
func (e *StatusError) Unwrap() error { return e.Err }
