package sigv4

import (
	"fmt"
	"net/http"
)

// Error is a refusal with the S3 error code and HTTP status the gateway
// answers it with. Errors of the payload readers surface through whoever
// reads the body, wrapped; find them with errors.As.
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

// The S3 error codes of authentication and payload checks.
var (
	codeAccessDenied                      = code{"AccessDenied", http.StatusForbidden}
	codeAuthorizationHeaderMalformed      = code{"AuthorizationHeaderMalformed", http.StatusBadRequest}
	codeAuthorizationQueryParametersError = code{"AuthorizationQueryParametersError", http.StatusBadRequest}
	codeBadDigest                         = code{"BadDigest", http.StatusBadRequest}
	codeContentSHA256Mismatch             = code{"XAmzContentSHA256Mismatch", http.StatusBadRequest}
	codeIncompleteBody                    = code{"IncompleteBody", http.StatusBadRequest}
	codeInvalidArgument                   = code{"InvalidArgument", http.StatusBadRequest}
	codeMissingContentLength              = code{"MissingContentLength", http.StatusLengthRequired}
	codeSignatureDoesNotMatch             = code{"SignatureDoesNotMatch", http.StatusForbidden}
)

func errorf(c code, format string, a ...any) error {
	return &Error{Code: c.name, Status: c.status, Message: fmt.Sprintf(format, a...)}
}
