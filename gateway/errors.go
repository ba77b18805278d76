package gateway

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/gateway/s3err"
)

// S3Error is an S3 error code with its HTTP status.
type S3Error struct {
	Code   string
	Status int
}

// The S3 error codes the gateway returns.
var (
	ErrAccessDenied                        = S3Error{"AccessDenied", http.StatusForbidden}
	ErrAuthorizationHeaderMalformed        = S3Error{"AuthorizationHeaderMalformed", http.StatusBadRequest}
	ErrAuthorizationQueryParametersError   = S3Error{"AuthorizationQueryParametersError", http.StatusBadRequest}
	ErrBadDigest                           = S3Error{"BadDigest", http.StatusBadRequest}
	ErrBadRequest                          = S3Error{"BadRequest", http.StatusBadRequest}
	ErrInvalidTag                          = S3Error{"InvalidTag", http.StatusBadRequest}
	ErrNoSuchTagSet                        = S3Error{"NoSuchTagSet", http.StatusNotFound}
	ErrNoSuchVersion                       = S3Error{"NoSuchVersion", http.StatusNotFound}
	ErrInvalidBucketState                  = S3Error{"InvalidBucketState", http.StatusConflict}
	ErrObjectLockConfigurationNotFound     = S3Error{"ObjectLockConfigurationNotFoundError", http.StatusNotFound}
	ErrNoSuchObjectLockConfiguration       = S3Error{"NoSuchObjectLockConfiguration", http.StatusNotFound}
	ErrNoSuchCORSConfiguration             = S3Error{"NoSuchCORSConfiguration", http.StatusNotFound}
	ErrNoSuchLifecycleConfiguration        = S3Error{"NoSuchLifecycleConfiguration", http.StatusNotFound}
	ErrAccessForbidden                     = S3Error{"AccessForbidden", http.StatusForbidden}
	ErrBucketAlreadyExists                 = S3Error{"BucketAlreadyExists", http.StatusConflict}
	ErrBucketAlreadyOwnedByYou             = S3Error{"BucketAlreadyOwnedByYou", http.StatusConflict}
	ErrBucketNotEmpty                      = S3Error{"BucketNotEmpty", http.StatusConflict}
	ErrContentSHA256Mismatch               = S3Error{"XAmzContentSHA256Mismatch", http.StatusBadRequest}
	ErrEntityTooLarge                      = S3Error{"EntityTooLarge", http.StatusBadRequest}
	ErrExpiredToken                        = S3Error{"AccessDenied", http.StatusForbidden}
	ErrIncompleteBody                      = S3Error{"IncompleteBody", http.StatusBadRequest}
	ErrInternal                            = S3Error{"InternalError", http.StatusInternalServerError}
	ErrInvalidArgument                     = S3Error{"InvalidArgument", http.StatusBadRequest}
	ErrInvalidBucketName                   = S3Error{"InvalidBucketName", http.StatusBadRequest}
	ErrInvalidDigest                       = S3Error{"InvalidDigest", http.StatusBadRequest}
	ErrInvalidAccessKeyID                  = S3Error{"InvalidAccessKeyId", http.StatusForbidden}
	ErrInsufficientStorage                 = S3Error{"InsufficientStorage", http.StatusInsufficientStorage}
	ErrRequestTimeout                      = S3Error{"RequestTimeout", http.StatusBadRequest}
	ErrInvalidLocationConstraint           = S3Error{"InvalidLocationConstraint", http.StatusBadRequest}
	ErrIllegalLocationConstraint           = S3Error{"IllegalLocationConstraintException", http.StatusBadRequest}
	ErrInvalidStorageClass                 = S3Error{"InvalidStorageClass", http.StatusBadRequest}
	ErrInvalidRedirectLocation             = S3Error{"InvalidRedirectLocation", http.StatusBadRequest}
	ErrInvalidPartNumber                   = S3Error{"InvalidPartNumber", http.StatusRequestedRangeNotSatisfiable}
	ErrInvalidURI                          = S3Error{"InvalidURI", http.StatusBadRequest}
	ErrInvalidRange                        = S3Error{"InvalidRange", http.StatusRequestedRangeNotSatisfiable}
	ErrInvalidRequest                      = S3Error{"InvalidRequest", http.StatusBadRequest}
	ErrKeyTooLong                          = S3Error{"KeyTooLongError", http.StatusBadRequest}
	ErrMalformedXML                        = S3Error{"MalformedXML", http.StatusBadRequest}
	ErrMetadataTooLarge                    = S3Error{"MetadataTooLarge", http.StatusBadRequest}
	ErrMethodNotAllowed                    = S3Error{"MethodNotAllowed", http.StatusMethodNotAllowed}
	ErrMissingContentLength                = S3Error{"MissingContentLength", http.StatusLengthRequired}
	ErrNoSuchBucket                        = S3Error{"NoSuchBucket", http.StatusNotFound}
	ErrNoSuchKey                           = S3Error{"NoSuchKey", http.StatusNotFound}
	ErrNoSuchUpload                        = S3Error{"NoSuchUpload", http.StatusNotFound}
	ErrInvalidPart                         = S3Error{"InvalidPart", http.StatusBadRequest}
	ErrInvalidPartOrder                    = S3Error{"InvalidPartOrder", http.StatusBadRequest}
	ErrEntityTooSmall                      = S3Error{"EntityTooSmall", http.StatusBadRequest}
	ErrNotImplemented                      = S3Error{"NotImplemented", http.StatusNotImplemented}
	ErrPreconditionFailed                  = S3Error{"PreconditionFailed", http.StatusPreconditionFailed}
	ErrRequestTimeTooSkewed                = S3Error{"RequestTimeTooSkewed", http.StatusForbidden}
	ErrServiceUnavailable                  = S3Error{"ServiceUnavailable", http.StatusServiceUnavailable}
	ErrSignatureDoesNotMatch               = S3Error{"SignatureDoesNotMatch", http.StatusForbidden}
	ErrUnresolvableGrantByEmailAddress     = S3Error{"UnresolvableGrantByEmailAddress", http.StatusBadRequest}
	ErrMalformedACLError                   = S3Error{"MalformedACLError", http.StatusBadRequest}
	ErrMalformedPolicy                     = S3Error{"MalformedPolicy", http.StatusBadRequest}
	ErrUnexpectedContent                   = S3Error{"UnexpectedContent", http.StatusBadRequest}
	ErrMissingSecurityHeader               = S3Error{"MissingSecurityHeader", http.StatusBadRequest}
	ErrAccessControlListNotSupported       = S3Error{"AccessControlListNotSupported", http.StatusBadRequest}
	ErrInvalidBucketAclWithObjectOwnership = S3Error{"InvalidBucketAclWithObjectOwnership", http.StatusBadRequest}
	ErrNoSuchBucketPolicy                  = S3Error{"NoSuchBucketPolicy", http.StatusNotFound}
	ErrOwnershipControlsNotFound           = S3Error{"OwnershipControlsNotFoundError", http.StatusNotFound}
	ErrNoSuchPublicAccessBlock             = S3Error{"NoSuchPublicAccessBlockConfiguration", http.StatusNotFound}
)

// apiError is an S3 error with a message, returned by handlers.
type apiError struct {
	S3Error
	Message string
	// ResourceType names the target of a MethodNotAllowed refusal.
	ResourceType string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(code S3Error, format string, a ...any) error {
	return &apiError{S3Error: code, Message: fmt.Sprintf(format, a...)}
}

// asAPIError finds the S3 error in err: an *apiError, or an *s3err.Error
// from the checking and document packages (sigv4, sigv2, postpolicy, acl,
// ...), as an *apiError.
func asAPIError(err error) (*apiError, bool) {
	var ae *apiError
	var se *s3err.Error
	switch {
	case errors.As(err, &ae):
		return ae, true
	case errors.As(err, &se):
		return &apiError{S3Error: S3Error{se.Code, se.Status}, Message: se.Message}, true
	}
	return nil, false
}

// errorBody is S3's XML error document.
type errorBody struct {
	XMLName      xml.Name `xml:"Error"`
	Code         string   `xml:"Code"`
	Message      string   `xml:"Message"`
	BucketName   string   `xml:"BucketName,omitempty"`
	Key          string   `xml:"Key,omitempty"`
	Method       string   `xml:"Method,omitempty"`
	ResourceType string   `xml:"ResourceType,omitempty"`
	Resource     string   `xml:"Resource,omitempty"`
	RequestID    string   `xml:"RequestId"`
}

// writeError writes err as S3 XML. Errors that are not S3 errors become
// InternalError with a generic message (the detail goes to the log).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae, ok := asAPIError(err)
	if !ok {
		ae = s.translate(err)
	}
	if op := noteOf(r); op != nil {
		op.code = ae.Code
	}
	if ae.Status >= 500 {
		s.log.Warn("request failed", "method", r.Method, "path", r.URL.Path, "request_id", requestID(r), "err", err)
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(ae.Status)
	if r.Method == http.MethodHead {
		return
	}
	body := errorBody{Code: ae.Code, Message: ae.Message, Resource: r.URL.Path, RequestID: requestID(r)}
	vars := mux.Vars(r)
	switch ae.S3Error {
	case ErrNoSuchKey, ErrNoSuchVersion:
		body.Key = vars["key"]
	case ErrNoSuchBucket, ErrNoSuchTagSet, ErrNoSuchCORSConfiguration, ErrNoSuchLifecycleConfiguration, ErrNoSuchBucketPolicy, ErrOwnershipControlsNotFound, ErrNoSuchPublicAccessBlock, ErrBucketNotEmpty, ErrBucketAlreadyOwnedByYou, ErrBucketAlreadyExists, ErrInvalidBucketName:
		body.BucketName = vars["bucket"]
	case ErrMethodNotAllowed:
		body.Method, body.ResourceType = r.Method, ae.ResourceType
	}
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(body)
}
