package rpc

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// InProcessAddr is the RemoteAddr an in-process call reaches its handler
// with: there is no socket, so no peer address.
const InProcessAddr = "in-process"

// InProcess returns a RoundTripper that answers every request with h, in
// the caller's goroutine and without a socket: for a caller and a server
// that share a process (granary server's gateway calling its own master),
// where a call over loopback would cost two HTTP stacks and four socket
// syscalls for nothing. h sees the request as its server would hand it on:
// RequestURI set, RemoteAddr InProcessAddr, a body that is never nil, the
// caller's context (so its deadline and cancellation). The answer is
// buffered whole before it is returned, which suits the small JSON answers
// of a control plane, not bulk data. A panic in h fails the call instead
// of the process, as a server would drop the connection.
//
// Nothing about the call's checks changes: the request carries the
// credential the caller's Config puts on it, and h authenticates it as it
// would any other. Where h requires cluster TLS (a client certificate),
// an in-process call has none and is refused: use it only without TLS.
func InProcess(h http.Handler) http.RoundTripper { return inProcess{h} }

type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	sreq := req.Clone(req.Context())
	sreq.RequestURI = req.URL.RequestURI()
	sreq.RemoteAddr = InProcessAddr
	sreq.Host = req.URL.Host
	if sreq.Body == nil {
		sreq.Body = http.NoBody
	}
	if req.Body != nil { // a transport closes the body it was given, read or not
		defer req.Body.Close()
	}
	w := &bufferedAnswer{header: make(http.Header)}
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, fmt.Errorf("rpc: in-process %s %s: handler panicked: %v", req.Method, req.URL.Path, p)
		}
	}()
	t.h.ServeHTTP(w, sreq)
	if err := req.Context().Err(); err != nil {
		return nil, fmt.Errorf("rpc: in-process %s %s: %w", req.Method, req.URL.Path, err)
	}
	if w.status == 0 { // answered nothing at all: an empty 200, as a server sends
		w.WriteHeader(http.StatusOK)
	}
	return &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.sent,
		Body:          io.NopCloser(bytes.NewReader(w.body.Bytes())),
		ContentLength: int64(w.body.Len()),
		Request:       req,
	}, nil
}

// bufferedAnswer is the ResponseWriter of an in-process call: it keeps
// the status, a snapshot of the header at the first write, and the body.
type bufferedAnswer struct {
	header http.Header
	sent   http.Header // the header as it was when the answer began
	status int
	body   bytes.Buffer
}

func (w *bufferedAnswer) Header() http.Header { return w.header }

func (w *bufferedAnswer) WriteHeader(code int) {
	if w.status != 0 {
		return // as net/http: later calls are superfluous
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 { // an informational answer: the real one follows
		return
	}
	w.status = code
	w.sent = w.header.Clone()
}

func (w *bufferedAnswer) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	return w.body.Write(p)
}

// Flush is a no-op: the answer is handed over whole.
func (w *bufferedAnswer) Flush() {}

func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}
