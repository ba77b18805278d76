// Package stream is how the S3 gateway moves bodies over a client's
// connection: reads and writes that push the connection's deadline
// forward by an idle timeout before each call (a client that stops
// sending or reading is cut off), read errors as S3 refusals, and a
// response writer that sends its status and headers with the first byte
// of the body.
package stream

import (
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/granary-store/granary/gateway/s3err"
)

// NewIdleReader returns an IdleReader of r on the connection rc controls.
func NewIdleReader(r io.Reader, rc *http.ResponseController, idle time.Duration) *IdleReader {
	return &IdleReader{r: r, rc: rc, idle: idle}
}

// NewIdleWriter returns an IdleWriter of w on the connection rc controls.
func NewIdleWriter(w io.Writer, rc *http.ResponseController, idle time.Duration) *IdleWriter {
	return &IdleWriter{w: w, rc: rc, idle: idle}
}

// IdleReader extends the connection's read deadline before every read, so
// a client that stops sending is cut off after the idle timeout.
type IdleReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
}

// Read reads, the deadline moved first; a body cut short is IncompleteBody
// and a read past the deadline RequestTimeout.
func (i *IdleReader) Read(p []byte) (int, error) {
	i.rc.SetReadDeadline(time.Now().Add(i.idle))
	n, err := i.r.Read(p)
	var ne net.Error
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF):
		err = s3err.New(s3err.IncompleteBody, "you did not provide the number of bytes specified by the Content-Length HTTP header")
	case errors.As(err, &ne) && ne.Timeout():
		err = s3err.New(s3err.RequestTimeout, "your socket connection to the server was not read from or written to within the timeout period")
	}
	return n, err
}

// LazyWriter sends the status and headers with the first byte of the
// body, so that a failure before it can still be answered with an error
// status. Like the http.ResponseWriter it wraps, it belongs to the
// request's handler.
type LazyWriter struct {
	w       http.ResponseWriter
	Header  http.Header // the headers to send, copied at Start
	Status  int         // the status to send (200 unless set)
	started bool
}

// NewLazyWriter returns a LazyWriter on w, status 200 and no headers.
func NewLazyWriter(w http.ResponseWriter) *LazyWriter {
	return &LazyWriter{w: w, Header: http.Header{}, Status: http.StatusOK}
}

// Started reports whether the status and headers were sent.
func (l *LazyWriter) Started() bool { return l.started }

// Start sends the status and headers, once.
func (l *LazyWriter) Start() {
	if l.started {
		return
	}
	l.started = true
	for k, v := range l.Header {
		l.w.Header()[k] = v
	}
	l.w.WriteHeader(l.Status)
}

// Write starts the response and writes p.
func (l *LazyWriter) Write(p []byte) (int, error) {
	l.Start()
	return l.w.Write(p)
}

// IdleWriter extends the connection's write deadline before every write,
// so a client that stops reading is cut off after the idle timeout.
type IdleWriter struct {
	w    io.Writer
	rc   *http.ResponseController
	idle time.Duration
}

// Write writes, the deadline moved first.
func (i *IdleWriter) Write(p []byte) (int, error) {
	i.rc.SetWriteDeadline(time.Now().Add(i.idle))
	return i.w.Write(p)
}
