package s3hdr

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
)

func code(err error) string {
	var se *s3err.Error
	if errors.As(err, &se) {
		return se.Code
	}
	if err != nil {
		return "other"
	}
	return ""
}

func TestParseRange(t *testing.T) {
	for _, c := range []struct {
		h       string
		off, n  int64
		partial bool
		err     string
	}{
		{"", 0, 10, false, ""},
		{"bytes=2-4", 2, 3, true, ""},
		{"bytes=8-", 8, 2, true, ""},
		{"bytes=-3", 7, 3, true, ""},
		{"bytes=-30", 0, 10, true, ""},
		{"bytes=5-100", 5, 5, true, ""},
		{"bytes=10-", 0, 0, false, "InvalidRange"},
		{"bytes=-0", 0, 0, false, "InvalidRange"},
		{"bytes=0-1,3-4", 0, 10, false, ""}, // not one range: the whole object
		{"items=0-1", 0, 10, false, ""},
	} {
		off, n, partial, err := ParseRange(c.h, 10)
		if code(err) != c.err || err == nil && (off != c.off || n != c.n || partial != c.partial) {
			t.Errorf("%q: %d %d %v %v, want %d %d %v %q", c.h, off, n, partial, err, c.off, c.n, c.partial, c.err)
		}
	}
	if off, n, err := CopySourceRange("bytes=1-3", 10); err != nil || off != 1 || n != 3 {
		t.Errorf("copy source range: %d %d %v", off, n, err)
	}
	for _, rg := range []string{"bytes=1-10", "bytes=3-1", "1-3", "bytes=-3"} {
		if _, _, err := CopySourceRange(rg, 10); code(err) != "InvalidArgument" {
			t.Errorf("copy source range %q: %v", rg, err)
		}
	}
}

func TestPreconditions(t *testing.T) {
	mod := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	o := client.ObjectInfo{ETag: "abc", Modified: mod.Add(300 * time.Millisecond)}
	before, at := mod.Add(-time.Hour).Format(http.TimeFormat), mod.Format(http.TimeFormat)
	for _, c := range []struct {
		h      map[string]string
		status int
		err    string
	}{
		{nil, 0, ""},
		{map[string]string{"If-Match": `"abc"`}, 0, ""},
		{map[string]string{"If-Match": `"x", *`}, 0, ""},
		{map[string]string{"If-Match": `"x"`}, 0, "PreconditionFailed"},
		{map[string]string{"If-Unmodified-Since": before}, 0, "PreconditionFailed"},
		{map[string]string{"If-Unmodified-Since": at}, 0, ""},
		{map[string]string{"If-None-Match": "abc"}, http.StatusNotModified, ""},
		{map[string]string{"If-Modified-Since": at}, http.StatusNotModified, ""},
		{map[string]string{"If-Modified-Since": before}, 0, ""},
		{map[string]string{"If-Match": `"abc"`, "If-Unmodified-Since": before}, 0, ""}, // If-Match decides
	} {
		r := &http.Request{Header: http.Header{}}
		for k, v := range c.h {
			r.Header.Set(k, v)
		}
		status, err := Preconditions(r, o)
		if status != c.status || code(err) != c.err {
			t.Errorf("%v: %d %v, want %d %q", c.h, status, err, c.status, c.err)
		}
	}
}

func TestStoredAndConditions(t *testing.T) {
	oh, err := Stored(http.Header{"Content-Encoding": {"aws-chunked, gzip"}, "X-Amz-Storage-Class": {"STANDARD_IA"}})
	if err != nil || oh.ContentEncoding != "gzip" || oh.StorageClass != "STANDARD_IA" {
		t.Errorf("stored: %+v %v", oh, err)
	}
	if _, err := Stored(http.Header{"X-Amz-Storage-Class": {"CHEAP"}}); code(err) != "InvalidStorageClass" {
		t.Errorf("unknown class: %v", err)
	}
	if _, err := Stored(http.Header{"X-Amz-Website-Redirect-Location": {"ftp://x"}}); code(err) != "InvalidRedirectLocation" {
		t.Errorf("redirect: %v", err)
	}
	if _, _, err := WriteConditions(http.Header{"If-None-Match": {`"abc"`}}); code(err) != "NotImplemented" {
		t.Errorf("If-None-Match with an ETag on a write: %v", err)
	}
	if etag, create, err := WriteConditions(http.Header{"If-None-Match": {"*"}, "If-Match": {`"e"`}}); etag != "e" || !create || err != nil {
		t.Errorf("write conditions: %q %v %v", etag, create, err)
	}
	cond, err := DeleteConditions("*", "", "12")
	if err != nil || !cond.MustExist || cond.IfSize == nil || *cond.IfSize != 12 {
		t.Errorf("delete conditions: %+v %v", cond, err)
	}
	if _, err := DeleteConditions("", "yesterday", ""); code(err) != "InvalidArgument" {
		t.Errorf("bad time: %v", err)
	}
}
