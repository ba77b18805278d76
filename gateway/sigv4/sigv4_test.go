package sigv4

import (
	"net/http"
	"testing"
)

// TestKnownAnswer checks the signature of the GET example in the S3
// documentation of Signature Version 4 (its published key pair and
// result), an answer computed independently of this package.
func TestKnownAnswer(t *testing.T) {
	r, _ := http.NewRequest("GET", "http://examplebucket.s3.amazonaws.com/test.txt", nil)
	r.Header.Set("Range", "bytes=0-9")
	r.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	r.Header.Set("X-Amz-Date", "20130524T000000Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
	sr, err := ParseAuthHeader(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckSignedHeaders(r, sr); err != nil {
		t.Fatal(err)
	}
	canonical, err := CanonicalRequest(r, sr)
	if err != nil {
		t.Fatal(err)
	}
	got := Sign(SigningKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", sr.Cred), StringToSign(canonical, sr))
	if got != sr.Signature {
		t.Fatalf("signature %s, the documentation's %s; canonical request:\n%s", got, sr.Signature, canonical)
	}
}
