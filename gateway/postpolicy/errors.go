package postpolicy

import (
	"net/http"

	"github.com/granary-store/granary/gateway/s3err"
)

// Error is a refusal with the S3 error code and HTTP status the gateway
// answers it with, as sigv4.Error is; find it with errors.As.
type Error = s3err.Error

type code = s3err.Code

// The S3 error codes of browser POST uploads.
var (
	codeAccessDenied               = code{Name: "AccessDenied", Status: http.StatusForbidden}
	codeAuthQueryParametersError   = code{Name: "AuthorizationQueryParametersError", Status: http.StatusBadRequest}
	codeEntityTooLarge             = code{Name: "EntityTooLarge", Status: http.StatusBadRequest}
	codeEntityTooSmall             = code{Name: "EntityTooSmall", Status: http.StatusBadRequest}
	codeIncorrectNumberOfFiles     = code{Name: "IncorrectNumberOfFilesInPostRequest", Status: http.StatusBadRequest}
	codeInvalidArgument            = code{Name: "InvalidArgument", Status: http.StatusBadRequest}
	codeInvalidPolicyDocument      = code{Name: "InvalidPolicyDocument", Status: http.StatusBadRequest}
	codeMalformedPOSTRequest       = code{Name: "MalformedPOSTRequest", Status: http.StatusBadRequest}
	codeMaxPostPreDataLengthExceed = code{Name: "MaxPostPreDataLengthExceededError", Status: http.StatusBadRequest}
	codeSignatureDoesNotMatch      = code{Name: "SignatureDoesNotMatch", Status: http.StatusForbidden}
)

func errorf(c code, format string, a ...any) error {
	return s3err.New(c, format, a...)
}

// policyErrorf refuses a form its policy does not allow, with S3's
// "Invalid according to Policy: " prefix.
func policyErrorf(format string, a ...any) error {
	return errorf(codeAccessDenied, "Invalid according to Policy: "+format, a...)
}
