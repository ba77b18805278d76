// Package s3err is the refusal the S3 gateway's checking and document packages
// (gateway/sigv4, gateway/sigv2, gateway/postpolicy, gateway/acl, ...) return: an S3 error
// code with the HTTP status the gateway answers it with, and a message.
// The gateway finds it with errors.As wherever it was wrapped.
package s3err

import (
	"fmt"
	"net/http"
)

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

// The S3 error codes the gateway's document and header packages return.
var (
	AccessControlListNotSupported     = Code{"AccessControlListNotSupported", http.StatusBadRequest}
	AccessDenied                      = Code{"AccessDenied", http.StatusForbidden}
	AuthorizationHeaderMalformed      = Code{"AuthorizationHeaderMalformed", http.StatusBadRequest}
	AuthorizationQueryParametersError = Code{"AuthorizationQueryParametersError", http.StatusBadRequest}
	BadDigest                         = Code{"BadDigest", http.StatusBadRequest}
	BadRequest                        = Code{"BadRequest", http.StatusBadRequest}
	InvalidAccessKeyId                = Code{"InvalidAccessKeyId", http.StatusForbidden}
	InvalidArgument                   = Code{"InvalidArgument", http.StatusBadRequest}
	InvalidDigest                     = Code{"InvalidDigest", http.StatusBadRequest}
	InvalidPart                       = Code{"InvalidPart", http.StatusBadRequest}
	InvalidPartNumber                 = Code{"InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable}
	InvalidRange                      = Code{"InvalidRange", http.StatusRequestedRangeNotSatisfiable}
	InvalidRedirectLocation           = Code{"InvalidRedirectLocation", http.StatusBadRequest}
	InvalidStorageClass               = Code{"InvalidStorageClass", http.StatusBadRequest}
	InvalidRequest                    = Code{"InvalidRequest", http.StatusBadRequest}
	InvalidTag                        = Code{"InvalidTag", http.StatusBadRequest}
	MalformedACLError                 = Code{"MalformedACLError", http.StatusBadRequest}
	MalformedPolicy                   = Code{"MalformedPolicy", http.StatusBadRequest}
	MalformedXML                      = Code{"MalformedXML", http.StatusBadRequest}
	MissingSecurityHeader             = Code{"MissingSecurityHeader", http.StatusBadRequest}
	NotImplemented                    = Code{"NotImplemented", http.StatusNotImplemented}
	PreconditionFailed                = Code{"PreconditionFailed", http.StatusPreconditionFailed}
	RequestTimeTooSkewed              = Code{"RequestTimeTooSkewed", http.StatusForbidden}
	ServiceUnavailable                = Code{"ServiceUnavailable", http.StatusServiceUnavailable}
	SignatureDoesNotMatch             = Code{"SignatureDoesNotMatch", http.StatusForbidden}
	UnexpectedContent                 = Code{"UnexpectedContent", http.StatusBadRequest}
	UnresolvableGrantByEmailAddress   = Code{"UnresolvableGrantByEmailAddress", http.StatusBadRequest}
)
