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
	// ResourceType names the target of a MethodNotAllowed refusal.
	ResourceType string
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

// The S3 error codes of the gateway and its packages. ExpiredToken is
// AccessDenied, as S3 answers an expired presigned URL.
var (
	AccessControlListNotSupported       = Code{"AccessControlListNotSupported", http.StatusBadRequest}
	AccessDenied                        = Code{"AccessDenied", http.StatusForbidden}
	AccessForbidden                     = Code{"AccessForbidden", http.StatusForbidden}
	AuthorizationHeaderMalformed        = Code{"AuthorizationHeaderMalformed", http.StatusBadRequest}
	AuthorizationQueryParametersError   = Code{"AuthorizationQueryParametersError", http.StatusBadRequest}
	BadDigest                           = Code{"BadDigest", http.StatusBadRequest}
	BadRequest                          = Code{"BadRequest", http.StatusBadRequest}
	BucketAlreadyExists                 = Code{"BucketAlreadyExists", http.StatusConflict}
	BucketAlreadyOwnedByYou             = Code{"BucketAlreadyOwnedByYou", http.StatusConflict}
	BucketNotEmpty                      = Code{"BucketNotEmpty", http.StatusConflict}
	ContentSHA256Mismatch               = Code{"XAmzContentSHA256Mismatch", http.StatusBadRequest}
	EntityTooLarge                      = Code{"EntityTooLarge", http.StatusBadRequest}
	EntityTooSmall                      = Code{"EntityTooSmall", http.StatusBadRequest}
	ExpiredToken                        = Code{"AccessDenied", http.StatusForbidden}
	IllegalLocationConstraint           = Code{"IllegalLocationConstraintException", http.StatusBadRequest}
	IncompleteBody                      = Code{"IncompleteBody", http.StatusBadRequest}
	InsufficientStorage                 = Code{"InsufficientStorage", http.StatusInsufficientStorage}
	Internal                            = Code{"InternalError", http.StatusInternalServerError}
	InvalidAccessKeyId                  = Code{"InvalidAccessKeyId", http.StatusForbidden}
	InvalidArgument                     = Code{"InvalidArgument", http.StatusBadRequest}
	InvalidBucketAclWithObjectOwnership = Code{"InvalidBucketAclWithObjectOwnership", http.StatusBadRequest}
	InvalidBucketName                   = Code{"InvalidBucketName", http.StatusBadRequest}
	InvalidBucketState                  = Code{"InvalidBucketState", http.StatusConflict}
	InvalidDigest                       = Code{"InvalidDigest", http.StatusBadRequest}
	InvalidLocationConstraint           = Code{"InvalidLocationConstraint", http.StatusBadRequest}
	InvalidPart                         = Code{"InvalidPart", http.StatusBadRequest}
	InvalidPartNumber                   = Code{"InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable}
	InvalidPartOrder                    = Code{"InvalidPartOrder", http.StatusBadRequest}
	InvalidRange                        = Code{"InvalidRange", http.StatusRequestedRangeNotSatisfiable}
	InvalidRedirectLocation             = Code{"InvalidRedirectLocation", http.StatusBadRequest}
	InvalidRequest                      = Code{"InvalidRequest", http.StatusBadRequest}
	InvalidStorageClass                 = Code{"InvalidStorageClass", http.StatusBadRequest}
	InvalidTag                          = Code{"InvalidTag", http.StatusBadRequest}
	InvalidURI                          = Code{"InvalidURI", http.StatusBadRequest}
	KeyTooLong                          = Code{"KeyTooLongError", http.StatusBadRequest}
	MalformedACLError                   = Code{"MalformedACLError", http.StatusBadRequest}
	MalformedPolicy                     = Code{"MalformedPolicy", http.StatusBadRequest}
	MalformedXML                        = Code{"MalformedXML", http.StatusBadRequest}
	MetadataTooLarge                    = Code{"MetadataTooLarge", http.StatusBadRequest}
	MethodNotAllowed                    = Code{"MethodNotAllowed", http.StatusMethodNotAllowed}
	MissingContentLength                = Code{"MissingContentLength", http.StatusLengthRequired}
	MissingSecurityHeader               = Code{"MissingSecurityHeader", http.StatusBadRequest}
	NoSuchBucket                        = Code{"NoSuchBucket", http.StatusNotFound}
	NoSuchBucketPolicy                  = Code{"NoSuchBucketPolicy", http.StatusNotFound}
	NoSuchCORSConfiguration             = Code{"NoSuchCORSConfiguration", http.StatusNotFound}
	NoSuchKey                           = Code{"NoSuchKey", http.StatusNotFound}
	NoSuchLifecycleConfiguration        = Code{"NoSuchLifecycleConfiguration", http.StatusNotFound}
	NoSuchObjectLockConfiguration       = Code{"NoSuchObjectLockConfiguration", http.StatusNotFound}
	NoSuchPublicAccessBlock             = Code{"NoSuchPublicAccessBlockConfiguration", http.StatusNotFound}
	NoSuchTagSet                        = Code{"NoSuchTagSet", http.StatusNotFound}
	NoSuchUpload                        = Code{"NoSuchUpload", http.StatusNotFound}
	NoSuchVersion                       = Code{"NoSuchVersion", http.StatusNotFound}
	NotImplemented                      = Code{"NotImplemented", http.StatusNotImplemented}
	ObjectLockConfigurationNotFound     = Code{"ObjectLockConfigurationNotFoundError", http.StatusNotFound}
	OwnershipControlsNotFound           = Code{"OwnershipControlsNotFoundError", http.StatusNotFound}
	PreconditionFailed                  = Code{"PreconditionFailed", http.StatusPreconditionFailed}
	RequestTimeout                      = Code{"RequestTimeout", http.StatusBadRequest}
	RequestTimeTooSkewed                = Code{"RequestTimeTooSkewed", http.StatusForbidden}
	ServiceUnavailable                  = Code{"ServiceUnavailable", http.StatusServiceUnavailable}
	SignatureDoesNotMatch               = Code{"SignatureDoesNotMatch", http.StatusForbidden}
	UnexpectedContent                   = Code{"UnexpectedContent", http.StatusBadRequest}
	UnresolvableGrantByEmailAddress     = Code{"UnresolvableGrantByEmailAddress", http.StatusBadRequest}
)
