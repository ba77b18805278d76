package sigv2

import (
	"net/http"

	"github.com/granary-store/granary/gateway/s3err"
)

// Error is a refusal with the S3 error code and HTTP status the gateway
// answers it with, as sigv4.Error is; find it with errors.As.
type Error = s3err.Error

type code = s3err.Code

// The S3 error codes of Signature Version 2 checks.
var (
	codeAccessDenied          = code{Name: "AccessDenied", Status: http.StatusForbidden}
	codeInvalidArgument       = code{Name: "InvalidArgument", Status: http.StatusBadRequest}
	codeRequestTimeTooSkewed  = code{Name: "RequestTimeTooSkewed", Status: http.StatusForbidden}
	codeSignatureDoesNotMatch = code{Name: "SignatureDoesNotMatch", Status: http.StatusForbidden}
)

func errorf(c code, format string, a ...any) error {
	return s3err.New(c, format, a...)
}
