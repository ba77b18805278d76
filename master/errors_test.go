package master

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/wire"
)

// Every sentinel answers with the code, status and retryability the API
// has always given it (the table wire.Body replaced).
func TestErrorBodies(t *testing.T) {
	cases := []struct {
		err       error
		code      proto.Code
		status    int
		retryable bool
	}{
		{ErrNoSuchBucket, proto.CodeNoSuchBucket, http.StatusNotFound, false},
		{ErrBucketExists, proto.CodeBucketExists, http.StatusConflict, false},
		{ErrBucketNotEmpty, proto.CodeBucketNotEmpty, http.StatusConflict, false},
		{ErrNoSuchKey, proto.CodeNoSuchKey, http.StatusNotFound, false},
		{ErrPrecondition, proto.CodePrecondition, http.StatusPreconditionFailed, false},
		{ErrNotFound, proto.CodeNotFound, http.StatusNotFound, false},
		{ErrTooLarge, proto.CodeTooLarge, http.StatusRequestEntityTooLarge, false},
		{ErrInvalid, proto.CodeBadRequest, http.StatusBadRequest, false},
		{proto.ErrInvalidName, proto.CodeBadRequest, http.StatusBadRequest, false},
		{ErrUnknownVersion, proto.CodeUnknownVersion, http.StatusBadRequest, false},
		{ErrRequestExpired, proto.CodeBadRequest, http.StatusBadRequest, false},
		{ErrBadCommand, proto.CodeBadRequest, http.StatusBadRequest, false},
		{ErrNotLeader, proto.CodeNotLeader, http.StatusServiceUnavailable, true},
		{ErrUnavailable, proto.CodeUnavailable, http.StatusServiceUnavailable, true},
		{ErrClosed, proto.CodeUnavailable, http.StatusServiceUnavailable, true},
		{ErrNoServers, proto.CodeNoServers, http.StatusServiceUnavailable, false},
		{ErrNoSpace, proto.CodeNoSpace, http.StatusInsufficientStorage, false},
		{ErrNoSuchUpload, proto.CodeNoSuchUpload, http.StatusNotFound, false},
		{ErrInvalidPart, proto.CodeInvalidPart, http.StatusBadRequest, false},
		{ErrInvalidPartOrder, proto.CodeInvalidPartOrder, http.StatusBadRequest, false},
		{ErrEntityTooSmall, proto.CodeEntityTooSmall, http.StatusBadRequest, false},
		{wire.ErrContext, proto.CodeUnavailable, http.StatusServiceUnavailable, true},
		{ErrFSMFailed, proto.CodeInternal, http.StatusInternalServerError, false},
		{errors.New("anything else"), proto.CodeInternal, http.StatusInternalServerError, false},
	}
	for _, tc := range cases {
		e := wire.Body(fmt.Errorf("context: %w", tc.err))
		if e.Code != tc.code || e.Status != tc.status || e.Retryable != tc.retryable {
			t.Errorf("%v: %s %d retryable=%v; want %s %d retryable=%v", tc.err, e.Code, e.Status, e.Retryable, tc.code, tc.status, tc.retryable)
		}
	}
}
