package sigv2

import (
	"fmt"
	"net/http"
)

// Error is a refusal with the S3 error code and HTTP status the gateway
// answers it with, as sigv4.Error is; find it with errors.As.
type Error struct {
	Code    string
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

type code struct {
	name   string
	status int
}

// The S3 error codes of Signature Version 2 checks.
var (
	codeAccessDenied          = code{"AccessDenied", http.StatusForbidden}
	codeInvalidArgument       = code{"InvalidArgument", http.StatusBadRequest}
	codeRequestTimeTooSkewed  = code{"RequestTimeTooSkewed", http.StatusForbidden}
	codeSignatureDoesNotMatch = code{"SignatureDoesNotMatch", http.StatusForbidden}
)

func errorf(c code, format string, a ...any) error {
	return &Error{Code: c.name, Status: c.status, Message: fmt.Sprintf(format, a...)}
}
