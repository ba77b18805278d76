package gateway_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// TestAccessSigV2AndPostUploads: older clients sign with Signature
// Version 2 (headers and presigned URLs); browsers upload with a POST
// form whose policy the gateway enforces.
func TestAccessSigV2AndPostUploads(t *testing.T) {
	e := startAccess(t)
	ctx := ctxT(t, 2*time.Minute)
	v2, err := minio.New(e.addr, &minio.Options{Creds: credentials.NewStaticV2(rootAccess, rootSecret, "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := v2.MakeBucket(ctx, "old", minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("CreateBucket signed V2: %v", err)
	}
	if err := e.put(v2, "old", "a b+c", "signed the old way", minio.PutObjectOptions{ContentType: "text/plain"}); err != nil {
		t.Fatalf("PUT signed V2: %v", err)
	}
	if got, err := e.get(v2, "old", "a b+c"); err != nil || got != "signed the old way" {
		t.Fatalf("GET signed V2: %q %v", got, err)
	}
	// Presigned V2 URLs: valid, tampered, expired.
	req, _ := http.NewRequest("GET", "http://"+e.addr+"/old/a%20b%2Bc", nil)
	good := signer.PreSignV2(*req, rootAccess, rootSecret, 60, false)
	if resp, err := http.Get(good.URL.String()); err != nil || resp.StatusCode != 200 {
		t.Fatalf("presigned V2 GET: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	tampered, _ := http.NewRequest("GET", strings.Replace(good.URL.String(), "/old/a%20b%2Bc", "/old/other", 1), nil)
	if st, ec := send(t, tampered, "", "", false); st != 403 || ec.Code != "SignatureDoesNotMatch" {
		t.Fatalf("tampered presigned V2 URL: %d %s", st, ec.Code)
	}
	expired := signer.PreSignV2(*req, rootAccess, rootSecret, -60, false)
	if st, ec := send(t, expired, "", "", false); st != 403 || ec.Code != "AccessDenied" {
		t.Fatalf("expired presigned V2 URL: %d %s", st, ec.Code)
	}

	// POST uploads with a V4-signed policy from minio-go.
	post := func(p *minio.PostPolicy, file string) (int, string) {
		u, form, err := e.root.PresignedPostPolicy(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for k, v := range form {
			mw.WriteField(k, v)
		}
		fw, _ := mw.CreateFormFile("file", "upload.txt")
		io.WriteString(fw, file)
		mw.Close()
		resp, err := http.Post(u.String(), mw.FormDataContentType(), &body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	policy := func(key string, max int64, expires time.Time) *minio.PostPolicy {
		p := minio.NewPostPolicy()
		p.SetBucket("old")
		p.SetKey(key)
		p.SetExpires(expires)
		p.SetContentLengthRange(1, max)
		return p
	}
	if st, body := post(policy("form/ok", 100, time.Now().Add(time.Hour)), "from a browser"); st != 204 {
		t.Fatalf("POST upload: %d %s", st, body)
	}
	if got, err := e.get(e.root, "old", "form/ok"); err != nil || got != "from a browser" {
		t.Fatalf("POSTed object: %q %v", got, err)
	}
	if st, body := post(policy("form/big", 5, time.Now().Add(time.Hour)), "more than five bytes"); st != 400 || !strings.Contains(body, "EntityTooLarge") {
		t.Fatalf("POST beyond content-length-range: %d %s", st, body)
	}
	if _, err := e.root.StatObject(ctx, "old", "form/big", minio.StatObjectOptions{}); code(err) != "NoSuchKey" {
		t.Fatalf("a refused POST stored its file: %v", err)
	}
	if st, body := post(policy("form/late", 100, time.Now().Add(-time.Minute)), "late"); st != 403 || !strings.Contains(body, "expired") {
		t.Fatalf("POST with an expired policy: %d %s", st, body)
	}
}
