package s3hdr

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
)

// Preconditions evaluates conditional headers in S3's order. A non-zero
// status (304) means answer with headers only.
func Preconditions(r *http.Request, o client.ObjectInfo) (int, error) {
	etag := `"` + o.ETag + `"`
	matches := func(list string) bool {
		for _, t := range strings.Split(list, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || t == etag || t == o.ETag {
				return true
			}
		}
		return false
	}
	mod := o.Modified.Truncate(time.Second)
	if v := r.Header.Get("If-Match"); v != "" {
		if !matches(v) {
			return 0, s3err.New(s3err.PreconditionFailed, "at least one of the preconditions you specified did not hold")
		}
	} else if t, err := http.ParseTime(r.Header.Get("If-Unmodified-Since")); err == nil && mod.After(t) {
		return 0, s3err.New(s3err.PreconditionFailed, "at least one of the preconditions you specified did not hold")
	}
	if v := r.Header.Get("If-None-Match"); v != "" {
		if matches(v) {
			return http.StatusNotModified, nil
		}
	} else if t, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil && !mod.After(t) {
		return http.StatusNotModified, nil
	}
	return 0, nil
}

// ParseRange parses a single "bytes=" range. Headers that are not a
// single byte range are ignored (the whole object is sent), as S3 does.
func ParseRange(h string, size int64) (off, n int64, partial bool, err error) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if h == "" || !ok || strings.Contains(spec, ",") {
		return 0, size, false, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, size, false, nil
	}
	bad := s3err.New(s3err.InvalidRange, "the requested range is not satisfiable")
	switch {
	case first == "": // suffix: the last N bytes
		k, err := strconv.ParseInt(last, 10, 64)
		if err != nil || k < 0 {
			return 0, size, false, nil
		}
		if k == 0 || size == 0 {
			return 0, 0, false, bad
		}
		k = min(k, size)
		return size - k, k, true, nil
	default:
		a, err := strconv.ParseInt(first, 10, 64)
		if err != nil || a < 0 {
			return 0, size, false, nil
		}
		b := size - 1
		if last != "" {
			if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a {
				return 0, size, false, nil
			}
		}
		if a >= size {
			return 0, 0, false, bad
		}
		b = min(b, size-1)
		return a, b - a + 1, true, nil
	}
}

// PartRange finds the bytes of ?partNumber=N: the Nth part of a
// multipart object, or the whole of any other object for N = 1.
func PartRange(r *http.Request, o client.ObjectInfo) (off, n int64, err error) {
	if r.Header.Get("Range") != "" {
		return 0, 0, s3err.New(s3err.InvalidRequest, "cannot specify both Range header and partNumber query parameter")
	}
	pn, err := strconv.Atoi(r.URL.Query().Get("partNumber"))
	if err != nil || pn < 1 || pn > client.MaxPartNumber {
		return 0, 0, s3err.New(s3err.InvalidArgument, "part number must be an integer between 1 and 10000, inclusive")
	}
	switch {
	case len(o.Parts) == 0 && pn == 1:
		return 0, o.Size, nil
	case pn > len(o.Parts):
		return 0, 0, s3err.New(s3err.InvalidPartNumber, "the requested partnumber is not satisfiable")
	}
	for _, p := range o.Parts[:pn-1] {
		off += p.Size
	}
	return off, o.Parts[pn-1].Size, nil
}
