package gateway_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/granary-store/granary/gateway"
)

type s3Err struct {
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
	RequestID string `xml:"RequestId"`
}

// send signs req (unless sign is false) with minio-go's signer, an
// implementation independent of ours, and returns status and error code.
func send(t *testing.T, req *http.Request, access, secret string, sign bool) (int, s3Err) {
	t.Helper()
	if sign {
		req = signer.SignV4(*req, access, secret, "", "us-east-1")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e s3Err
	if resp.StatusCode >= 300 && resp.Request.Method != http.MethodHead {
		if err := xml.Unmarshal(raw, &e); err != nil || e.RequestID == "" || strings.Contains(string(raw), "goroutine") {
			t.Fatalf("status %d with a body that is not S3 XML: %q", resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, e
}

func newReq(t *testing.T, method, url string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256hex(body)
	req.Header.Set("X-Amz-Content-Sha256", sum)
	return req
}

func TestS3AuthAndBadInput(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, time.Minute)
	if err := mc.MakeBucket(ctx, "raw", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr + "/raw/"
	cases := []struct {
		name        string
		req         func() *http.Request
		access, sec string
		sign        bool
		status      int
		code        string
	}{
		{"anonymous", func() *http.Request { return newReq(t, "GET", base+"k", nil) }, "", "", false, 403, "AccessDenied"},
		{"wrong secret", func() *http.Request { return newReq(t, "GET", base+"k", nil) }, rootAccess, "not-the-secret-0123456789", true, 403, "SignatureDoesNotMatch"},
		{"unknown key", func() *http.Request { return newReq(t, "GET", base+"k", nil) }, "GRNOSUCHKEY", rootSecret, true, 403, "InvalidAccessKeyId"},
		{"malformed header", func() *http.Request {
			r := newReq(t, "GET", base+"k", nil)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=broken")
			r.Header.Set("X-Amz-Date", time.Now().UTC().Format("20060102T150405Z"))
			return r
		}, "", "", false, 400, "AuthorizationHeaderMalformed"},
		{"old signature scheme", func() *http.Request {
			r := newReq(t, "GET", base+"k", nil)
			r.Header.Set("Authorization", "AWS "+rootAccess+":abc")
			return r
		}, "", "", false, 403, "AccessDenied"},
		{"payload hash mismatch", func() *http.Request {
			r := newReq(t, "PUT", base+"hashed", []byte("the real body"))
			r.Header.Set("X-Amz-Content-Sha256", sha256hex([]byte("another body")))
			return r
		}, rootAccess, rootSecret, true, 400, "XAmzContentSHA256Mismatch"},
		{"bad content-md5", func() *http.Request {
			r := newReq(t, "PUT", base+"md5", []byte("body"))
			sum := md5.Sum([]byte("other"))
			r.Header.Set("Content-Md5", base64.StdEncoding.EncodeToString(sum[:]))
			return r
		}, rootAccess, rootSecret, true, 400, "BadDigest"},
		{"malformed content-md5", func() *http.Request {
			r := newReq(t, "PUT", base+"md5", []byte("body"))
			r.Header.Set("Content-Md5", "not base64!")
			return r
		}, rootAccess, rootSecret, true, 400, "InvalidDigest"},
		// minio-go's signer encodes invalid UTF-8 as U+FFFD while the
		// canonical path encodes bytes, so the signature cannot match: the
		// request is refused before the key is even looked at.
		{"invalid utf-8 key", func() *http.Request { return newReq(t, "PUT", base+"%FF%FE", []byte("x")) }, rootAccess, rootSecret, true, 403, "SignatureDoesNotMatch"},
		{"key too long", func() *http.Request { return newReq(t, "PUT", base+strings.Repeat("k", 1025), []byte("x")) }, rootAccess, rootSecret, true, 400, "KeyTooLongError"},
		{"no such bucket", func() *http.Request { return newReq(t, "GET", "http://"+addr+"/nobucket/k", nil) }, rootAccess, rootSecret, true, 404, "NoSuchBucket"},
		{"malformed delete xml", func() *http.Request { return newReq(t, "POST", base+"?delete", []byte("<Delete><Object>")) }, rootAccess, rootSecret, true, 400, "MalformedXML"},
		{"malformed create xml", func() *http.Request {
			return newReq(t, "PUT", "http://"+addr+"/newbucket", []byte("<CreateBucketConfiguration>"))
		}, rootAccess, rootSecret, true, 400, "MalformedXML"},
		{"header injection attempt", func() *http.Request {
			r := newReq(t, "PUT", base+"inj", []byte("x"))
			r.Header.Set("X-Amz-Meta-Evil", "a\tb")
			return r
		}, rootAccess, rootSecret, true, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, e := send(t, tc.req(), tc.access, tc.sec, tc.sign)
			if status != tc.status || e.Code != tc.code {
				t.Fatalf("got %d %s (%s), want %d %s", status, e.Code, e.Message, tc.status, tc.code)
			}
		})
	}
	// Refused uploads stored nothing.
	for _, k := range []string{"hashed", "md5"} {
		if _, err := mc.StatObject(ctx, "raw", k, minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
			t.Errorf("%s exists after a refused upload: %v", k, err)
		}
	}
	// "../x" is just a key: it neither escapes the bucket nor the store.
	status, _ := send(t, newReq(t, "PUT", base+"..%2F..%2Fescape", []byte("inside")), rootAccess, rootSecret, true)
	if status != 200 {
		t.Fatalf("put ../../escape: %d", status)
	}
	if got := readObject(t, mc, "raw", "../../escape"); string(got) != "inside" {
		t.Fatalf("read ../../escape: %q", got)
	}
}

func TestS3ClockSkewAndPresignedURLs(t *testing.T) {
	skew := time.Duration(0)
	_, mc, addr := startS3With(t, func(cfg *gateway.Config) {
		cfg.Now = func() time.Time { return time.Now().Add(skew) }
	})
	ctx := ctxT(t, time.Minute)
	mc.MakeBucket(ctx, "signed", minio.MakeBucketOptions{})
	mc.PutObject(ctx, "signed", "obj", strings.NewReader("presigned body"), 14, minio.PutObjectOptions{})
	u, err := mc.PresignedGetObject(ctx, "signed", "obj", time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	get := func(url string) (int, s3Err) {
		req, _ := http.NewRequest("GET", url, nil)
		return send(t, req, "", "", false)
	}
	if status, _ := get(u.String()); status != 200 {
		t.Fatalf("presigned GET: %d", status)
	}
	if status, e := get(strings.Replace(u.String(), "/obj?", "/other?", 1)); status != 403 || e.Code != "SignatureDoesNotMatch" {
		t.Fatalf("presigned URL used for another key: %d %s", status, e.Code)
	}
	skew = 2 * time.Hour // the gateway's clock is two hours ahead
	if status, e := get(u.String()); status != 403 || e.Code != "AccessDenied" {
		t.Fatalf("expired presigned URL: %d %s", status, e.Code)
	}
	status, e := send(t, newReq(t, "GET", "http://"+addr+"/signed/obj", nil), rootAccess, rootSecret, true)
	if status != 403 || e.Code != "RequestTimeTooSkewed" {
		t.Fatalf("request signed two hours off: %d %s", status, e.Code)
	}
}
