package gateway_test

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
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
func send(t testing.TB, req *http.Request, access, secret string, sign bool) (int, s3Err) {
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
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusNotModified && resp.Request.Method != http.MethodHead {
		if err := xml.Unmarshal(raw, &e); err != nil || e.RequestID == "" || strings.Contains(string(raw), "goroutine") {
			t.Fatalf("status %d with a body that is not S3 XML: %q", resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, e
}

func newReq(t testing.TB, method, url string, body []byte) *http.Request {
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

func TestS3HostileConnections(t *testing.T) {
	_, mc, addr := startS3With(t, func(cfg *gateway.Config) {
		cfg.IdleTimeout = time.Second
		cfg.Domain = "s3.granary.test"
	})
	ctx := ctxT(t, time.Minute)
	mc.MakeBucket(ctx, "hostile", minio.MakeBucketOptions{})
	// Headers far over the limit are refused before any handler runs.
	req := newReq(t, "GET", "http://"+addr+"/hostile/k", nil)
	req.Header.Set("X-Amz-Meta-Huge", strings.Repeat("h", 200<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("200 KiB of headers: status %d", resp.StatusCode)
	}
	// A client that stops sending mid-body is cut off by the idle timeout
	// and leaves nothing behind.
	body := &stallingBody{first: []byte(strings.Repeat("s", 4096)), stall: make(chan struct{})}
	req, _ = http.NewRequest("PUT", "http://"+addr+"/hostile/stalled", body)
	req.ContentLength = 1 << 20
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	req = signer.SignV4(*req, rootAccess, rootSecret, "", "us-east-1")
	start := time.Now()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("stalled upload answered %d", resp.StatusCode)
		}
	}
	close(body.stall)
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("stalled upload held for %v", d)
	}
	if _, err := mc.StatObject(ctx, "hostile", "stalled", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("stalled upload stored something: %v", err)
	}
	// Virtual-host style: the bucket in the Host header.
	put := newReq(t, "PUT", "http://"+addr+"/vkey", []byte("virtual"))
	put.Host = "hostile.s3.granary.test"
	if status, e := send(t, put, rootAccess, rootSecret, true); status != 200 {
		t.Fatalf("virtual-host PUT: %d %s %s", status, e.Code, e.Message)
	}
	if got := readObject(t, mc, "hostile", "vkey"); string(got) != "virtual" {
		t.Fatalf("virtual-host object reads %q", got)
	}
	loc, err := mc.GetBucketLocation(ctx, "hostile")
	if err != nil || loc != "us-east-1" {
		t.Fatalf("bucket location %q %v", loc, err)
	}
}

// stallingBody sends its first bytes, then blocks until stall closes.
type stallingBody struct {
	first []byte
	sent  bool
	stall chan struct{}
}

func (s *stallingBody) Read(p []byte) (int, error) {
	if !s.sent {
		s.sent = true
		return copy(p, s.first), nil
	}
	<-s.stall
	return 0, io.ErrUnexpectedEOF
}

// unsignedTrailerBody frames data as aws-chunked with a crc32 trailer.
func unsignedTrailerBody(data []byte, crc string) []byte {
	var b bytes.Buffer
	for len(data) > 0 {
		n := min(len(data), 64<<10)
		fmt.Fprintf(&b, "%x\r\n", n)
		b.Write(data[:n])
		b.WriteString("\r\n")
		data = data[n:]
	}
	fmt.Fprintf(&b, "0\r\nx-amz-checksum-crc32:%s\r\n\r\n", crc)
	return b.Bytes()
}

func TestS3PayloadVariants(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, time.Minute)
	mc.MakeBucket(ctx, "pay", minio.MakeBucketOptions{})
	data := bytes.Repeat([]byte("trailing checksum "), 20_000)
	sum := crc32.ChecksumIEEE(data)
	good := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, sum))
	bad := base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, sum+1))
	for _, tc := range []struct {
		key, crc string
		status   int
		code     string
	}{{"trailer-good", good, 200, ""}, {"trailer-bad", bad, 400, "BadDigest"}} {
		req, _ := http.NewRequest("PUT", "http://"+addr+"/pay/"+tc.key, bytes.NewReader(unsignedTrailerBody(data, tc.crc)))
		req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
		req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(len(data)))
		req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
		req.Header.Set("Content-Encoding", "aws-chunked")
		if status, e := send(t, req, rootAccess, rootSecret, true); status != tc.status || e.Code != tc.code {
			t.Fatalf("%s: %d %s (%s)", tc.key, status, e.Code, e.Message)
		}
	}
	if got := readObject(t, mc, "pay", "trailer-good"); !bytes.Equal(got, data) {
		t.Fatal("unsigned-trailer upload differs")
	}
	if _, err := mc.StatObject(ctx, "pay", "trailer-bad", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("upload with a bad trailing checksum stored: %v", err)
	}
	// minio-go's signed streaming upload with a trailing CRC32C.
	mt, err := minio.New(addr, &minio.Options{Creds: credentials.NewStaticV4(rootAccess, rootSecret, ""), TrailingHeaders: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mt.PutObject(ctx, "pay", "signed-trailer", bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{Checksum: minio.ChecksumCRC32C}); err != nil {
		t.Fatalf("signed streaming with a trailer: %v", err)
	}
	if got := readObject(t, mc, "pay", "signed-trailer"); !bytes.Equal(got, data) {
		t.Fatal("signed-trailer upload differs")
	}
	// A checksum in a header is verified too.
	req := newReq(t, "PUT", "http://"+addr+"/pay/header-sum", data)
	req.Header.Set("X-Amz-Checksum-Crc32", bad)
	if status, e := send(t, req, rootAccess, rootSecret, true); status != 400 || e.Code != "BadDigest" {
		t.Fatalf("bad x-amz-checksum-crc32 header: %d %s", status, e.Code)
	}
	// Remaining conditionals and bucket-name errors over raw HTTP.
	info, _ := mc.StatObject(ctx, "pay", "trailer-good", minio.StatObjectOptions{})
	get := newReq(t, "GET", "http://"+addr+"/pay/trailer-good", nil)
	get.Header.Set("If-None-Match", `"`+info.ETag+`"`)
	if status, _ := send(t, get, rootAccess, rootSecret, true); status != 304 {
		t.Fatalf("If-None-Match with the current ETag: %d", status)
	}
	get = newReq(t, "GET", "http://"+addr+"/pay/trailer-good", nil)
	get.Header.Set("If-Unmodified-Since", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat))
	if status, e := send(t, get, rootAccess, rootSecret, true); status != 412 || e.Code != "PreconditionFailed" {
		t.Fatalf("If-Unmodified-Since in the past: %d %s", status, e.Code)
	}
	if status, e := send(t, newReq(t, "PUT", "http://"+addr+"/Bad_Bucket", nil), rootAccess, rootSecret, true); status != 400 || e.Code != "InvalidBucketName" {
		t.Fatalf("invalid bucket name: %d %s", status, e.Code)
	}
}

func TestS3HealthProbe(t *testing.T) {
	c, _, addr := startS3(t)
	probe := func() int {
		resp, err := http.Get("http://" + addr + gateway.HealthPath)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	if got := probe(); got != http.StatusOK {
		t.Fatalf("health with a live master: %d, want 200", got)
	}
	// The probe needs no signature, but it opens nothing else: a path
	// under it is an S3 request (anonymous, for a bucket named "-", which
	// no bucket can be).
	if code, e := send(t, newReq(t, "GET", "http://"+addr+"/-/health/x", nil), "", "", false); code != 400 || e.Code != "InvalidBucketName" {
		t.Fatalf("unsigned request beside the probe: %d %s", code, e.Code)
	}
	c.Kill(c.Nodes()[0])
	if got := probe(); got != http.StatusServiceUnavailable {
		t.Fatalf("health with no master: %d, want 503", got)
	}
}
