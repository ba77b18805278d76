package sigv4

import (
	"net/http"

	"github.com/granary-store/granary/gateway/s3err"
)

// Error is a refusal with the S3 error code and HTTP status the gateway
// answers it with. Errors of the payload readers surface through whoever
// reads the body, wrapped; find them with errors.As.
type Error = s3err.Error

type code = s3err.Code

// The S3 error codes of authentication and payload checks.
var (
	codeAccessDenied                      = code{Name: "AccessDenied", Status: http.StatusForbidden}
	codeAuthorizationHeaderMalformed      = code{Name: "AuthorizationHeaderMalformed", Status: http.StatusBadRequest}
	codeAuthorizationQueryParametersError = code{Name: "AuthorizationQueryParametersError", Status: http.StatusBadRequest}
	codeBadDigest                         = code{Name: "BadDigest", Status: http.StatusBadRequest}
	codeContentSHA256Mismatch             = code{Name: "XAmzContentSHA256Mismatch", Status: http.StatusBadRequest}
	codeIncompleteBody                    = code{Name: "IncompleteBody", Status: http.StatusBadRequest}
	codeInvalidArgument                   = code{Name: "InvalidArgument", Status: http.StatusBadRequest}
	codeMissingContentLength              = code{Name: "MissingContentLength", Status: http.StatusLengthRequired}
	codeSignatureDoesNotMatch             = code{Name: "SignatureDoesNotMatch", Status: http.StatusForbidden}
)

func errorf(c code, format string, a ...any) error {
	return s3err.New(c, format, a...)
}
