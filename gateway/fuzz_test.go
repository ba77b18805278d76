package gateway

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// FuzzChunkedReader feeds arbitrary bodies to the aws-chunked decoder: it
// must never panic, and whatever it returns before an error is at most the
// declared length.
func FuzzChunkedReader(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"), false, false)
	f.Add([]byte("5;chunk-signature="+strings.Repeat("a", 64)+"\r\nhello\r\n0;chunk-signature="+strings.Repeat("b", 64)+"\r\n\r\n"), true, false)
	f.Add([]byte("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"), false, true)
	f.Add([]byte("ffffffffffffffff\r\n"), false, false)
	f.Fuzz(func(t *testing.T, body []byte, signed, trailer bool) {
		cr := &chunkedReader{
			br: bufio.NewReader(bytes.NewReader(body)), body: io.NopCloser(nil), signed: signed, trailer: trailer,
			key: []byte("k"), date: "20260101T000000Z", scope: "20260101/us-east-1/s3/aws4_request",
			prev: strings.Repeat("0", 64), want: 5,
		}
		if trailer {
			cr.expectChecksum("x-amz-checksum-crc32")
		}
		n, err := io.Copy(io.Discard, io.LimitReader(cr, 1<<20))
		if err == nil && n != 5 {
			t.Fatalf("decoded %d bytes without error, declared 5", n)
		}
	})
}

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

// FuzzAuthHeader parses arbitrary Authorization headers without panicking.
func FuzzAuthHeader(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature="+strings.Repeat("a", 64), "20260101T000000Z")
	f.Add("AWS4-HMAC-SHA256 ,,,=", "")
	f.Fuzz(func(t *testing.T, auth, date string) {
		r, _ := http.NewRequest("GET", "http://h/b/k", nil)
		r.Header.Set("Authorization", auth)
		r.Header.Set("X-Amz-Date", date)
		if sr, err := parseAuthHeader(r); err == nil {
			if sr.cred.accessKey == "" || len(sr.signature) != 64 {
				t.Fatalf("accepted %q with an empty key or a short signature", auth)
			}
			canonicalRequest(r, sr)
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
