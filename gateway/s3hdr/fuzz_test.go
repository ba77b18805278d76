package s3hdr

import (
	"errors"
	"testing"

	"github.com/granary-store/granary/gateway/s3err"
)

// FuzzParseRange checks that any Range header yields either a range inside
// the object or an InvalidRange error.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-0", "bytes=-5", "bytes=5-", "bytes=9-3", "bytes=0-1,2-3", "bytes=--1", "items=1-2"} {
		f.Add(s, int64(10))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		off, n, partial, err := ParseRange(h, size)
		if err != nil {
			var se *s3err.Error
			if !errors.As(err, &se) || se.Code != "InvalidRange" {
				t.Fatalf("error %v is not InvalidRange", err)
			}
			return
		}
		if off < 0 || n < 0 || off+n > size || !partial && (off != 0 || n != size) {
			t.Fatalf("range %q of %d: off %d n %d partial %v", h, size, off, n, partial)
		}
	})
}
