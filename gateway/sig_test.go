package gateway_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// unsignedHeaders are x-amz-* headers an attacker could add to a signed
// request; each must make the request fail.
var unsignedHeaders = map[string]string{
	"X-Amz-Copy-Source":                "/keep/obj",
	"X-Amz-Meta-Evil":                  "yes",
	"X-Amz-Acl":                        "private",
	"X-Amz-Storage-Class":              "STANDARD",
	"X-Amz-Website-Redirect-Location":  "/elsewhere",
	"X-Amz-Checksum-Crc32":             "AAAAAA==",
	"X-Amz-Metadata-Directive":         "REPLACE",
	"X-Amz-Server-Side-Encryption":     "AES256",
	"X-Amz-Expected-Bucket-Owner":      "123456789012",
	"X-Amz-Tagging":                    "a=b",
	"X-Amz-Copy-Source-If-None-Match":  "*",
	"X-Amz-Object-Lock-Legal-Hold":     "ON",
	"X-Amz-Request-Payer":              "requester",
	"X-Amz-Bucket-Object-Lock-Enabled": "true",
}

func TestSignatureCoversTheWholeRequest(t *testing.T) {
	f := newFixture(t)
	ctx := ctxT(t, time.Minute)
	target := "http://" + f.addr + "/keep/upload"
	for name, value := range unsignedHeaders {
		// Header authentication: the header is added after signing.
		req := newReq(t, "PUT", target, []byte("x"))
		req = signer.SignV4(*req, rootAccess, rootSecret, "", "us-east-1")
		req.Header.Set(name, value)
		status, e := send(t, req, "", "", false)
		if status != 403 || e.Code != "AccessDenied" || !strings.Contains(e.Message, "not signed") {
			t.Fatalf("header-signed PUT plus unsigned %s: %d %s %q", name, status, e.Code, e.Message)
		}
		// A presigned URL signs only the host.
		u, err := f.mc.Presign(ctx, "PUT", "keep", "upload", time.Hour, nil)
		if err != nil {
			t.Fatal(err)
		}
		req, _ = http.NewRequest("PUT", u.String(), strings.NewReader("x"))
		req.Header.Set(name, value)
		status, e = send(t, req, "", "", false)
		if status != 403 || e.Code != "AccessDenied" || !strings.Contains(e.Message, "not signed") {
			t.Fatalf("presigned PUT plus unsigned %s: %d %s %q", name, status, e.Code, e.Message)
		}
	}
	if _, err := f.mc.StatObject(ctx, "keep", "upload", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("a refused request stored an object: %v", err)
	}
	f.check(t, "unsigned headers")

	// The same presigned URL without additions works.
	u, _ := f.mc.Presign(ctx, "PUT", "keep", "upload", time.Hour, nil)
	req, _ := http.NewRequest("PUT", u.String(), strings.NewReader("presigned"))
	if status, e := send(t, req, "", "", false); status != 200 {
		t.Fatalf("presigned PUT: %d %s", status, e.Code)
	}
	if err := f.mc.RemoveObject(ctx, "keep", "upload", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	// Signed for another region.
	req = newReq(t, "GET", "http://"+f.addr+"/keep/obj", nil)
	req = signer.SignV4(*req, rootAccess, rootSecret, "", "eu-west-1")
	if status, e := send(t, req, "", "", false); status != 400 || e.Code != "AuthorizationHeaderMalformed" || !strings.Contains(e.Message, "us-east-1") {
		t.Fatalf("signed for eu-west-1: %d %s %q", status, e.Code, e.Message)
	}
	req = newReq(t, "GET", "http://"+f.addr+"/keep/obj", nil)
	req = signer.PreSignV4(*req, rootAccess, rootSecret, "", "eu-west-1", 3600)
	if status, e := send(t, req, "", "", false); status != 400 || e.Code != "AuthorizationQueryParametersError" {
		t.Fatalf("presigned for eu-west-1: %d %s %q", status, e.Code, e.Message)
	}

	// host left out of the signed headers.
	req = newReq(t, "GET", "http://"+f.addr+"/keep/obj", nil)
	req = signer.SignV4(*req, rootAccess, rootSecret, "", "us-east-1")
	auth := req.Header.Get("Authorization")
	req.Header.Set("Authorization", strings.Replace(auth, "SignedHeaders=host;", "SignedHeaders=", 1))
	if status, e := send(t, req, "", "", false); status != 403 || !strings.Contains(e.Message, "host") {
		t.Fatalf("host not signed: %d %s %q", status, e.Code, e.Message)
	}

	// Parameters that sort differently as names than as "name=value".
	req = newReq(t, "GET", "http://"+f.addr+"/keep?list-type=2&prefix=o&prefix-extra=1", nil)
	if status, e := send(t, req, rootAccess, rootSecret, true); status != 200 {
		t.Fatalf("listing with prefix and prefix-extra: %d %s %q", status, e.Code, e.Message)
	}
	f.check(t, "the signature tests")
}
