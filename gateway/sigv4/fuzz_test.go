package sigv4

import (
	"bufio"
	"bytes"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"testing"
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
			cr.expectChecksum("x-amz-checksum-crc32", func(string) (hash.Hash, error) { return crc32.NewIEEE(), nil })
		}
		n, err := io.Copy(io.Discard, io.LimitReader(cr, 1<<20))
		if err == nil && n != 5 {
			t.Fatalf("decoded %d bytes without error, declared 5", n)
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
		if sr, err := ParseAuthHeader(r); err == nil {
			if sr.Cred.AccessKey == "" || len(sr.Signature) != 64 {
				t.Fatalf("accepted %q with an empty key or a short signature", auth)
			}
			CanonicalRequest(r, sr)
		}
	})
}
