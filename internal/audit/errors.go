package audit

import "errors"

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("audit: log closed")

// ErrRotate is wrapped by the error of a Write that wrote its record but
// could not rotate the file.
var ErrRotate = errors.New("audit: rotate")
