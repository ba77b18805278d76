// Package wire is the master API's wire: request decoding, answer
// encoding, the master's own sentinel errors and the one mapping from
// errors to codes and HTTP statuses (Body). The master's handlers and
// master/metaapi's share it.
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta"
)

// Decode reads a JSON body strictly: unknown fields and trailing data are
// errors.
func Decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if dec.More() {
		return fmt.Errorf("malformed JSON body: trailing data: %w", meta.ErrInvalid)
	}
	return nil
}

// bodyError classifies a failure to read a request body.
func bodyError(err error) error {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return fmt.Errorf("request body exceeds %d bytes: %w", tooBig.Limit, meta.ErrTooLarge)
	case errors.Is(err, proto.ErrRawInlineTooLarge):
		return fmt.Errorf("%v: %w", err, meta.ErrTooLarge)
	case errors.Is(err, proto.ErrRawInline):
		return fmt.Errorf("%v: %w", err, meta.ErrInvalid)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("empty JSON body: %w", errors.Join(meta.ErrInvalid, io.EOF))
	}
	return fmt.Errorf("malformed JSON body: %v: %w", err, meta.ErrInvalid)
}

// DecodeObject is Decode for a body that may carry an object's inline
// bytes raw (proto.MediaTypeRawInline); they are stored in *inline.
func DecodeObject(r *http.Request, v any, inline *[]byte) error {
	if r.Header.Get("Content-Type") != proto.MediaTypeRawInline {
		return Decode(r, v)
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	raw, err := proto.ReadRawInline(dec, r.Body, v, proto.MaxInlineBytes)
	if err != nil {
		return bodyError(err)
	}
	if len(*inline) > 0 {
		return fmt.Errorf("inline bytes both in the JSON value and after it: %w", meta.ErrInvalid)
	}
	*inline = raw
	return nil
}

// WriteRawInline answers 200 with v as JSON and *inline after it, raw
// (proto.MediaTypeRawInline). It clears *inline, which must point into v.
func WriteRawInline(w http.ResponseWriter, v any, inline *[]byte) {
	raw := *inline
	*inline = nil
	body, err := proto.AppendRawInline(make([]byte, 0, 512+len(raw)), v, raw)
	if err != nil {
		WriteError(w, fmt.Errorf("encode answer: %w", err))
		return
	}
	w.Header().Set("Content-Type", proto.MediaTypeRawInline)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// WriteJSON answers status with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// WriteError answers err as its error body (Body).
func WriteError(w http.ResponseWriter, err error) {
	e := AsError(err)
	WriteJSON(w, e.Status, e)
}

// AsError is err as the API answers it: the *proto.Error it holds, or
// its Body.
func AsError(err error) *proto.Error {
	var e *proto.Error
	if !errors.As(err, &e) {
		e = Body(err)
	}
	return e
}

// RequestID is the id a client gave its change (proto.HeaderRequestID), if any.
func RequestID(r *http.Request) string { return r.Header.Get(proto.HeaderRequestID) }

// QueryInt is a non-negative integer query parameter, def when absent.
func QueryInt(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("query parameter %s=%q is not a non-negative integer: %w", name, v, meta.ErrInvalid)
	}
	return n, nil
}
