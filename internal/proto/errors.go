package proto

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Code is a stable, machine-readable error code in API error bodies.
type Code string

// Error codes of the master API.
const (
	CodeBadRequest       Code = "BadRequest"
	CodeUnauthorized     Code = "Unauthorized"
	CodeNoSuchBucket     Code = "NoSuchBucket"
	CodeBucketExists     Code = "BucketAlreadyExists"
	CodeBucketNotEmpty   Code = "BucketNotEmpty"
	CodeInvalidBucket    Code = "InvalidBucketName"
	CodeInvalidKey       Code = "InvalidKey"
	CodeNoSuchKey        Code = "NoSuchKey"
	CodeKeyExists        Code = "KeyExists"
	CodePrecondition     Code = "PreconditionFailed"
	CodeTooLarge         Code = "TooLarge"
	CodeNotFound         Code = "NotFound"
	CodeUnavailable      Code = "Unavailable"
	CodeNotLeader        Code = "NotLeader"
	CodeInternal         Code = "InternalError"
	CodeUnknownVersion   Code = "UnknownCommandVersion"
	CodeConflict         Code = "Conflict"
	CodeNoServers        Code = "NotEnoughServers"
	CodeCorrupt          Code = "Corrupt"
	CodeInvalidRange     Code = "InvalidRange"
	CodeNoSpace          Code = "NoSpace"
	CodeNoSuchUpload     Code = "NoSuchUpload"
	CodeInvalidPart      Code = "InvalidPart"
	CodeInvalidPartOrder Code = "InvalidPartOrder"
	CodeEntityTooSmall   Code = "EntityTooSmall"
)

// Error is the JSON error body of every failed API call.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// Retryable says the same call may succeed later or on another member
	// (no leader, leadership lost, timeouts). A retried write may already
	// have been applied.
	Retryable bool   `json:"retryable,omitempty"`
	Leader    string `json:"leader,omitempty"`
	// Server names the chunk server at fault in a failed pipeline.
	Server NodeID `json:"server,omitempty"`
	Status int    `json:"-"`
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// CodeOf returns the API code carried by err, or "" when it has none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// IsRetryable reports whether err is an API error marked retryable.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable
}

// ErrorFromResponse reads a failed response's body as an Error. A body that
// is not one (a proxy's page, say) becomes CodeInternal with the status
// and the text, retryable for 502 and 503.
func ErrorFromResponse(resp *http.Response) *Error {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Status: resp.StatusCode}
	if json.Unmarshal(raw, e) != nil || e.Code == "" {
		e.Code, e.Message = CodeInternal, fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(raw))
		e.Retryable = resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusBadGateway
	}
	return e
}
