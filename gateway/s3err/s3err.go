// Package s3err is the refusal the S3 gateway's checking packages
// (gateway/sigv4, gateway/sigv2, gateway/postpolicy) return: an S3 error
// code with the HTTP status the gateway answers it with, and a message.
// The gateway finds it with errors.As wherever it was wrapped.
package s3err

import "fmt"

// Error is a refusal with its S3 error code and HTTP status.
type Error struct {
	Code    string
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Code is an S3 error code and the HTTP status it is answered with.
type Code struct {
	Name   string
	Status int
}

// New returns an *Error of code c with a formatted message.
func New(c Code, format string, a ...any) error {
	return &Error{Code: c.Name, Status: c.Status, Message: fmt.Sprintf(format, a...)}
}
