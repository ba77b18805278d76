package postpolicy

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

// The S3 error codes of browser POST uploads.
var (
	codeAccessDenied               = code{"AccessDenied", http.StatusForbidden}
	codeAuthQueryParametersError   = code{"AuthorizationQueryParametersError", http.StatusBadRequest}
	codeEntityTooLarge             = code{"EntityTooLarge", http.StatusBadRequest}
	codeEntityTooSmall             = code{"EntityTooSmall", http.StatusBadRequest}
	codeIncorrectNumberOfFiles     = code{"IncorrectNumberOfFilesInPostRequest", http.StatusBadRequest}
	codeInvalidArgument            = code{"InvalidArgument", http.StatusBadRequest}
	codeInvalidPolicyDocument      = code{"InvalidPolicyDocument", http.StatusBadRequest}
	codeMalformedPOSTRequest       = code{"MalformedPOSTRequest", http.StatusBadRequest}
	codeMaxPostPreDataLengthExceed = code{"MaxPostPreDataLengthExceededError", http.StatusBadRequest}
	codeSignatureDoesNotMatch      = code{"SignatureDoesNotMatch", http.StatusForbidden}
)

func errorf(c code, format string, a ...any) error {
	return &Error{Code: c.name, Status: c.status, Message: fmt.Sprintf(format, a...)}
}

// policyErrorf refuses a form its policy does not allow, with S3's
// "Invalid according to Policy: " prefix.
func policyErrorf(format string, a ...any) error {
	return errorf(codeAccessDenied, "Invalid according to Policy: "+format, a...)
}
