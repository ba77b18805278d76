package postpolicy

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"time"

	"github.com/granary-store/granary/gateway/sigv4"
)

const (
	algorithmV4   = "AWS4-HMAC-SHA256"
	amzDateFormat = "20060102T150405Z"
)

// Auth is the signature a POST form carries over its policy.
type Auth struct {
	V4        bool
	AccessKey string
	// V4 only: the x-amz-credential scope and the x-amz-date field.
	Credential sigv4.Credential
	Date       string
	Signature  string // V4: hex x-amz-signature; V2: base64 signature
	Policy     string // base64, as sent: what the signature signs
}

// ParseAuth reads the form's signature fields: x-amz-algorithm,
// x-amz-credential, x-amz-date, x-amz-signature and policy for Signature
// Version 4; AWSAccessKeyId, signature and policy for Version 2. A form
// with none of them is anonymous: ParseAuth returns nil and no error,
// and the gateway decides whether the bucket takes anonymous uploads.
func ParseAuth(f *Form) (*Auth, error) {
	v := f.Fields
	switch {
	case v["x-amz-algorithm"] != "" || v["x-amz-signature"] != "" || v["x-amz-credential"] != "":
		return parseV4(v)
	case v["awsaccesskeyid"] != "" || v["signature"] != "":
		return parseV2(v)
	case v["policy"] != "":
		return nil, errorf(codeInvalidArgument, "Bucket POST must contain a field named 'AWSAccessKeyId' or 'x-amz-credential' when it has a policy")
	default:
		return nil, nil
	}
}

func parseV4(v map[string]string) (*Auth, error) {
	if v["x-amz-algorithm"] != algorithmV4 {
		return nil, errorf(codeInvalidArgument, "unsupported x-amz-algorithm %q; use %s", v["x-amz-algorithm"], algorithmV4)
	}
	for _, name := range []string{"x-amz-credential", "x-amz-date", "x-amz-signature", "policy"} {
		if v[name] == "" {
			return nil, errorf(codeInvalidArgument, "Bucket POST must contain a field named '%s'", name)
		}
	}
	cred, err := parseCredential(v["x-amz-credential"])
	if err != nil {
		return nil, err
	}
	date, err := time.Parse(amzDateFormat, v["x-amz-date"])
	if err != nil || date.Format("20060102") != cred.Date {
		return nil, errorf(codeAuthQueryParametersError, "x-amz-date %q is malformed or not the day of the credential", v["x-amz-date"])
	}
	return &Auth{V4: true, AccessKey: cred.AccessKey, Credential: cred, Date: v["x-amz-date"],
		Signature: strings.ToLower(v["x-amz-signature"]), Policy: v["policy"]}, nil
}

// parseCredential reads access-key/yyyymmdd/region/service/aws4_request.
// The service is checked by VerifySignature, which knows the region too.
func parseCredential(s string) (sigv4.Credential, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 5 || parts[0] == "" || len(parts[1]) != 8 || parts[4] != "aws4_request" {
		return sigv4.Credential{}, errorf(codeAuthQueryParametersError, "error parsing the x-amz-credential field %q", s)
	}
	return sigv4.Credential{AccessKey: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}, nil
}

func parseV2(v map[string]string) (*Auth, error) {
	for _, name := range []string{"awsaccesskeyid", "signature", "policy"} {
		if v[name] == "" {
			return nil, errorf(codeInvalidArgument, "Bucket POST must contain a field named '%s'", name)
		}
	}
	return &Auth{AccessKey: v["awsaccesskeyid"], Signature: v["signature"], Policy: v["policy"]}, nil
}

// VerifySignature checks a's signature of its policy with the secret of
// its access key, in constant time. A V4 credential must be for the
// service s3 and, unless region is empty, for region.
func VerifySignature(a *Auth, secretKey, region string) error {
	var want string
	if a.V4 {
		if a.Credential.Service != "s3" {
			return errorf(codeAuthQueryParametersError, "error parsing the x-amz-credential field; incorrect service %q; this endpoint belongs to \"s3\"", a.Credential.Service)
		}
		if region != "" && a.Credential.Region != region {
			return errorf(codeAuthQueryParametersError, "error parsing the x-amz-credential field; the region %q is wrong; expecting %q", a.Credential.Region, region)
		}
		want = sigv4.Sign(sigv4.SigningKey(secretKey, a.Credential), a.Policy)
	} else {
		m := hmac.New(sha1.New, []byte(secretKey))
		m.Write([]byte(a.Policy))
		want = base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(a.Signature)) != 1 {
		return errorf(codeSignatureDoesNotMatch, "the request signature we calculated does not match the signature you provided; check your key and signing method")
	}
	return nil
}
