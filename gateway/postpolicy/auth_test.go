package postpolicy

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestDocumentationV2 checks the policy and signature of the S3
// documentation's Signature Version 2 POST example, whose policy ends its
// conditions with a trailing comma.
func TestDocumentationV2(t *testing.T) {
	const policy = "eyAiZXhwaXJhdGlvbiI6ICIyMDA3LTEyLTAxVDEyOjAwOjAwLjAwMFoiLAogICJjb25kaXRpb25zIjogWwogICAgeyJidWNrZXQiOiAiam9obnNtaXRoIiB9LAogICAgWyJzdGFydHMtd2l0aCIsICIka2V5IiwgInVzZXIvZXJpYy8iXSwKICAgIHsiYWNsIjogInB1YmxpYy1yZWFkIiB9LAogICAgeyJyZWRpcmVjdCI6ICJodHRwOi8vam9obnNtaXRoLnMzLmFtYXpvbmF3cy5jb20vc3VjY2Vzc2Z1bF91cGxvYWQuaHRtbCIgfSwKICAgIFsic3RhcnRzLXdpdGgiLCAiJENvbnRlbnQtVHlwZSIsICJpbWFnZS8iXSwKICAgIHsieC1hbXotbWV0YS11dWlkIjogIjE0MzY1MTIzNjUxMjc0In0sCiAgICBbInN0YXJ0cy13aXRoIiwgIiR4LWFtei1tZXRhLXRhZyIsICIiXSwKICBdCn0K"
	r := postRequest(t, []field{
		{"key", "user/eric/${filename}"}, {"AWSAccessKeyId", "15B4D3461F177624206A"}, {"acl", "public-read"},
		{"redirect", "http://johnsmith.s3.amazonaws.com/successful_upload.html"}, {"Content-Type", "image/jpeg"},
		{"x-amz-meta-uuid", "14365123651274"}, {"x-amz-meta-tag", "some"}, {"policy", policy},
		{"signature", "2qCp0odXe7A9IYyUVqn0w2adtCA="}}, "puppy.jpg", "jpeg")
	f, err := ReadForm(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseAuth(f)
	if err != nil {
		t.Fatal(err)
	}
	if a.V4 || a.AccessKey != "15B4D3461F177624206A" {
		t.Fatalf("auth %+v", a)
	}
	if err := VerifySignature(a, "uV3F3YluFJax1cknvbcGwgjvx4QpvB+leU8dUj2o", "us-east-1"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, VerifySignature(a, "another secret", ""), "SignatureDoesNotMatch")
	p, err := ParsePolicy(a.Policy)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Check(f, "johnsmith", time.Date(2007, 12, 1, 11, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if status, loc := Redirect(f, "johnsmith", Key(f), `"e"`); status != 303 || !strings.Contains(loc, "key=user%2Feric%2Fpuppy.jpg") {
		t.Fatalf("redirect %d %s", status, loc)
	}
}

// minioForm has minio-go, an implementation independent of this package,
// build and sign a POST policy, and returns its form data.
func minioForm(t *testing.T, creds *credentials.Credentials, expires time.Time) map[string]string {
	t.Helper()
	c, err := minio.New("s3.local:9000", &minio.Options{Creds: creds, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	p := minio.NewPostPolicy()
	for _, err := range []error{
		p.SetBucket("photos"), p.SetKeyStartsWith("user/eric/"), p.SetExpires(expires),
		p.SetContentType("image/png"), p.SetContentLengthRange(1, 1000), p.SetUserMetadata("color", "blue"),
		p.SetSuccessStatusAction("201"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	_, form, err := c.PresignedPostPolicy(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	form["key"] = "user/eric/${filename}"
	return form
}

func formFields(form map[string]string) []field {
	var fs []field
	for k, v := range form {
		fs = append(fs, field{k, v})
	}
	return fs
}

func TestMinioSigned(t *testing.T) {
	for _, v4 := range []bool{true, false} {
		creds := credentials.NewStaticV2("AK", "SECRET", "")
		if v4 {
			creds = credentials.NewStaticV4("AK", "SECRET", "")
		}
		expires := time.Now().Add(time.Hour).Truncate(time.Millisecond)
		r := postRequest(t, formFields(minioForm(t, creds, expires)), "me.png", "PNG")
		f, err := ReadForm(r, 0)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ParseAuth(f)
		if err != nil {
			t.Fatal(err)
		}
		if a.V4 != v4 || a.AccessKey != "AK" {
			t.Fatalf("auth %+v", a)
		}
		if err := VerifySignature(a, "SECRET", "us-east-1"); err != nil {
			t.Fatalf("V4 %v: %v", v4, err)
		}
		wantCode(t, VerifySignature(a, "WRONG", "us-east-1"), "SignatureDoesNotMatch")
		if v4 {
			wantCode(t, VerifySignature(a, "SECRET", "eu-west-1"), "AuthorizationQueryParametersError")
		}
		p, err := ParsePolicy(a.Policy)
		if err != nil {
			t.Fatal(err)
		}
		min, max, err := p.Check(f, "photos", time.Now())
		if err != nil {
			t.Fatalf("V4 %v: %v", v4, err)
		}
		if min != 1 || max != 1000 {
			t.Fatalf("range %d-%d", min, max)
		}
		if data, err := io.ReadAll(CheckedReader(f.File, min, max)); err != nil || string(data) != "PNG" {
			t.Fatalf("file %q %v", data, err)
		}
		wantCode(t, func() error { _, _, err := p.Check(f, "photos", expires.Add(time.Second)); return err }(), "AccessDenied")
		wantCode(t, func() error { _, _, err := p.Check(f, "other", time.Now()); return err }(), "AccessDenied")
		if status, _ := Redirect(f, "photos", Key(f), `"e"`); status != 201 {
			t.Fatalf("status %d", status)
		}
	}
}

// TestTamperedPolicy widens a signed policy: the signature no longer
// matches.
func TestTamperedPolicy(t *testing.T) {
	for _, creds := range []*credentials.Credentials{credentials.NewStaticV4("AK", "SECRET", ""), credentials.NewStaticV2("AK", "SECRET", "")} {
		form := minioForm(t, creds, time.Now().Add(time.Hour))
		form["policy"] = b64(strings.Replace(mustDecode(form["policy"]), "user/eric/", "", 1))
		f, err := ReadForm(postRequest(t, formFields(form), "x.png", "x"), 0)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ParseAuth(f)
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, VerifySignature(a, "SECRET", "us-east-1"), "SignatureDoesNotMatch")
	}
}

func TestParseAuth(t *testing.T) {
	v4 := map[string]string{"x-amz-algorithm": "AWS4-HMAC-SHA256", "x-amz-credential": "AK/20261130/us-east-1/s3/aws4_request",
		"x-amz-date": "20261130T120000Z", "x-amz-signature": strings.Repeat("A", 64), "policy": "cA=="}
	with := func(base map[string]string, k, v string) map[string]string {
		m := map[string]string{}
		for kk, vv := range base {
			m[kk] = vv
		}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	a, err := ParseAuth(&Form{Fields: v4})
	if err != nil {
		t.Fatal(err)
	}
	if !a.V4 || a.AccessKey != "AK" || a.Credential.Region != "us-east-1" || a.Signature != strings.Repeat("a", 64) || a.Date != "20261130T120000Z" {
		t.Fatalf("auth %+v", a)
	}
	if a, err := ParseAuth(&Form{Fields: map[string]string{"key": "k", "acl": "public-read"}}); a != nil || err != nil {
		t.Fatalf("anonymous form: %+v, %v", a, err)
	}
	v2 := map[string]string{"awsaccesskeyid": "AK", "signature": "c2ln", "policy": "cA=="}
	tests := []struct {
		name   string
		fields map[string]string
		code   string
	}{
		{"policy alone", map[string]string{"policy": "cA=="}, "InvalidArgument"},
		{"v4 algorithm", with(v4, "x-amz-algorithm", "AWS4-HMAC-SHA1"), "InvalidArgument"},
		{"v4 no algorithm", with(v4, "x-amz-algorithm", ""), "InvalidArgument"},
		{"v4 no credential", with(v4, "x-amz-credential", ""), "InvalidArgument"},
		{"v4 no date", with(v4, "x-amz-date", ""), "InvalidArgument"},
		{"v4 no signature", with(v4, "x-amz-signature", ""), "InvalidArgument"},
		{"v4 no policy", with(v4, "policy", ""), "InvalidArgument"},
		{"v4 bad credential", with(v4, "x-amz-credential", "AK/2026/us-east-1/s3/aws4_request"), "AuthorizationQueryParametersError"},
		{"v4 short credential", with(v4, "x-amz-credential", "AK/20261130/us-east-1/s3"), "AuthorizationQueryParametersError"},
		{"v4 date of another day", with(v4, "x-amz-date", "20261201T000000Z"), "AuthorizationQueryParametersError"},
		{"v4 bad date", with(v4, "x-amz-date", "yesterday"), "AuthorizationQueryParametersError"},
		{"v2 no key", with(v2, "awsaccesskeyid", ""), "InvalidArgument"},
		{"v2 no signature", with(v2, "signature", ""), "InvalidArgument"},
		{"v2 no policy", with(v2, "policy", ""), "InvalidArgument"},
	}
	for _, tt := range tests {
		a, err := ParseAuth(&Form{Fields: tt.fields})
		if err == nil {
			t.Errorf("%s: parsed %+v", tt.name, a)
			continue
		}
		wantCode(t, err, tt.code)
	}
	a, _ = ParseAuth(&Form{Fields: with(v4, "x-amz-credential", "AK/20261130/us-east-1/iam/aws4_request")})
	wantCode(t, VerifySignature(a, "SECRET", ""), "AuthorizationQueryParametersError")
}
