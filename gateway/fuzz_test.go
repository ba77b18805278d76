package gateway

import (
	"encoding/xml"
	"errors"
	"net/http"
	"testing"

	"github.com/gorilla/mux"
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
		off, n, partial, err := parseRange(h, size)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Code != "InvalidRange" {
				t.Fatalf("error %v is not InvalidRange", err)
			}
			return
		}
		if off < 0 || n < 0 || off+n > size || !partial && (off != 0 || n != size) {
			t.Fatalf("range %q of %d: off %d n %d partial %v", h, size, off, n, partial)
		}
	})
}

func TestObjectNameRefusesInvalidUTF8(t *testing.T) {
	r, _ := http.NewRequest("PUT", "http://h/bucket/x", nil)
	r = mux.SetURLVars(r, map[string]string{"bucket": "bucket", "key": "a\xffb"})
	var ae *apiError
	if _, _, err := objectName(r); !errors.As(err, &ae) || ae.Code != "InvalidArgument" {
		t.Fatalf("invalid UTF-8 key: %v", err)
	}
}

// FuzzXMLBodies feeds arbitrary request bodies to the XML decoders of
// DeleteObjects, CompleteMultipartUpload and CreateBucket: errors only,
// never a panic, and never more entries than the limits allow through.
func FuzzXMLBodies(f *testing.F) {
	f.Add([]byte(`<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object></Delete>`))
	f.Add([]byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"x"</ETag></Part></CompleteMultipartUpload>`))
	f.Add([]byte(`<CreateBucketConfiguration><LocationConstraint>eu</LocationConstraint></CreateBucketConfiguration>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var d deleteRequest
		var c completeRequest
		var b createBucketConfiguration
		_ = xml.Unmarshal(body, &d)
		_ = xml.Unmarshal(body, &c)
		_ = xml.Unmarshal(body, &b)
	})
}
