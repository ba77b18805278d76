package gateway

import (
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/gateway/s3err"
)

// s3error is an S3 refusal of code with a message.
func s3error(code s3err.Code, msg string) *s3err.Error {
	return &s3err.Error{Code: code.Name, Status: code.Status, Message: msg}
}

// methodNotAllowed refuses a method on a resource of a type (a delete
// marker, a bucket, ...).
func methodNotAllowed(resourceType string) error {
	e := s3error(s3err.MethodNotAllowed, "the specified method is not allowed against this resource")
	e.ResourceType = resourceType
	return e
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
	var ae *s3err.Error // from this package and every gateway/... package
	if !errors.As(err, &ae) {
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
	switch ae.Code {
	case s3err.NoSuchKey.Name, s3err.NoSuchVersion.Name:
		body.Key = vars["key"]
	case s3err.NoSuchBucket.Name, s3err.NoSuchTagSet.Name, s3err.NoSuchCORSConfiguration.Name, s3err.NoSuchLifecycleConfiguration.Name, s3err.NoSuchBucketPolicy.Name, s3err.OwnershipControlsNotFound.Name, s3err.NoSuchPublicAccessBlock.Name, s3err.BucketNotEmpty.Name, s3err.BucketAlreadyOwnedByYou.Name, s3err.BucketAlreadyExists.Name, s3err.InvalidBucketName.Name:
		body.BucketName = vars["bucket"]
	case s3err.MethodNotAllowed.Name:
		body.Method, body.ResourceType = r.Method, ae.ResourceType
	}
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(body)
}
