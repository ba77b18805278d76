package stream

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/gateway/s3err"
)

func TestLazyWriter(t *testing.T) {
	rec := httptest.NewRecorder()
	lw := NewLazyWriter(rec)
	lw.Header.Set("ETag", `"e"`)
	lw.Status = http.StatusPartialContent
	if lw.Started() || rec.Code != http.StatusOK || rec.Header().Get("ETag") != "" {
		t.Fatal("headers sent before the first byte")
	}
	w := NewIdleWriter(lw, http.NewResponseController(rec), time.Minute)
	if _, err := io.WriteString(w, "abc"); err != nil {
		t.Fatal(err)
	}
	lw.Start() // a second start sends nothing more
	if !lw.Started() || rec.Code != http.StatusPartialContent || rec.Header().Get("ETag") != `"e"` || rec.Body.String() != "abc" {
		t.Fatalf("%d %v %q", rec.Code, rec.Header(), rec.Body.String())
	}
}

func TestIdleReaderErrors(t *testing.T) {
	rc := http.NewResponseController(httptest.NewRecorder())
	short := NewIdleReader(io.LimitReader(strings.NewReader("ab"), 2), rc, time.Minute)
	if b, err := io.ReadAll(short); err != nil || string(b) != "ab" {
		t.Fatalf("%q %v", b, err)
	}
	cut := NewIdleReader(&failing{err: io.ErrUnexpectedEOF}, rc, time.Minute)
	var se *s3err.Error
	if _, err := cut.Read(make([]byte, 4)); !errors.As(err, &se) || se.Code != "IncompleteBody" {
		t.Errorf("a body cut short: %v", err)
	}
	slow := NewIdleReader(&failing{err: timeoutError{}}, rc, time.Minute)
	if _, err := slow.Read(make([]byte, 4)); !errors.As(err, &se) || se.Code != "RequestTimeout" {
		t.Errorf("a read past the deadline: %v", err)
	}
}

type failing struct{ err error }

func (f *failing) Read([]byte) (int, error) { return 0, f.err }

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
