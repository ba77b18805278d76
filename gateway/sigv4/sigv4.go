// Package sigv4 verifies AWS Signature Version 4 as S3 uses it: the
// Authorization header and presigned query parameters, the canonical
// request, the signing key, and payloads (a signed SHA-256, or aws-chunked
// framing with chunk signatures and trailing checksums). Its refusals are
// *Error values carrying the S3 error code. It knows nothing of keys or
// of what a request does.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// Payload hash values a client may sign instead of a hex SHA-256.
const (
	unsignedPayload        = "UNSIGNED-PAYLOAD"
	streamingSigned        = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrail = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	algorithm              = "AWS4-HMAC-SHA256"
	amzDateFormat          = "20060102T150405Z"
)

// credential is the parsed Credential of a signature.
type Credential struct {
	AccessKey, Date, Region, Service string
}

func (c Credential) scope() string {
	return c.Date + "/" + c.Region + "/" + c.Service + "/aws4_request"
}

// Request is everything a SigV4 signature covers, parsed from the
// Authorization header or from presigned query parameters.
type Request struct {
	Cred          Credential
	SignedHeaders []string
	Signature     string
	Time          time.Time // X-Amz-Date
	PayloadHash   string    // hex, or one of the special values
	Presigned     bool
	Expires       time.Duration
}

// ParseAuthHeader parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=...".
func ParseAuthHeader(r *http.Request) (*Request, error) {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, algorithm+" ")
	if !ok {
		return nil, errorf(codeAccessDenied, "unsupported authorization scheme; use %s", algorithm)
	}
	sr := &Request{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, errorf(codeAuthorizationHeaderMalformed, "malformed authorization element %q", part)
		}
		switch k {
		case "Credential":
			c, err := parseCredential(v)
			if err != nil {
				return nil, err
			}
			sr.Cred = c
		case "SignedHeaders":
			sr.SignedHeaders = strings.Split(v, ";")
		case "Signature":
			sr.Signature = v
		}
	}
	if sr.Cred.AccessKey == "" || len(sr.SignedHeaders) == 0 || len(sr.Signature) != 64 {
		return nil, errorf(codeAuthorizationHeaderMalformed, "the authorization header needs Credential, SignedHeaders and Signature")
	}
	date, err := time.Parse(amzDateFormat, r.Header.Get("X-Amz-Date"))
	if err != nil {
		if date, err = http.ParseTime(r.Header.Get("Date")); err != nil {
			return nil, errorf(codeAccessDenied, "missing or malformed X-Amz-Date")
		}
	}
	sr.Time = date
	sr.PayloadHash = r.Header.Get("X-Amz-Content-Sha256")
	if sr.PayloadHash == "" {
		sr.PayloadHash = unsignedPayload
	}
	return sr, nil
}

func parseCredential(v string) (Credential, error) {
	parts := strings.Split(v, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[3] != "s3" || len(parts[1]) != 8 {
		return Credential{}, errorf(codeAuthorizationHeaderMalformed, "malformed credential %q", v)
	}
	return Credential{AccessKey: parts[0], Date: parts[1], Region: parts[2], Service: parts[3]}, nil
}

// ParsePresigned reads a signature from X-Amz-* query parameters.
func ParsePresigned(q url.Values) (*Request, error) {
	if q.Get("X-Amz-Algorithm") != algorithm {
		return nil, errorf(codeAccessDenied, "unsupported presigned algorithm")
	}
	c, err := parseCredential(q.Get("X-Amz-Credential"))
	if err != nil {
		return nil, err
	}
	date, err := time.Parse(amzDateFormat, q.Get("X-Amz-Date"))
	if err != nil {
		return nil, errorf(codeAuthorizationQueryParametersError, "malformed X-Amz-Date")
	}
	var secs int64
	if _, err := fmt.Sscanf(q.Get("X-Amz-Expires"), "%d", &secs); err != nil || secs < 1 || secs > 7*24*3600 {
		return nil, errorf(codeAuthorizationQueryParametersError, "X-Amz-Expires must be 1 to 604800 seconds")
	}
	sig := q.Get("X-Amz-Signature")
	if len(sig) != 64 || q.Get("X-Amz-SignedHeaders") == "" {
		return nil, errorf(codeAuthorizationQueryParametersError, "missing signature or signed headers")
	}
	return &Request{
		Cred: c, SignedHeaders: strings.Split(q.Get("X-Amz-SignedHeaders"), ";"), Signature: sig,
		Time: date, PayloadHash: unsignedPayload, Presigned: true, Expires: time.Duration(secs) * time.Second,
	}, nil
}

// signingKey derives the key for a credential scope.
func SigningKey(secret string, c Credential) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), c.Date)
	k = hmacSHA256(k, c.Region)
	k = hmacSHA256(k, c.Service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// canonicalRequest builds the SigV4 canonical request of r.
func CanonicalRequest(r *http.Request, sr *Request) (string, error) {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(canonicalURI(r) + "\n")
	b.WriteString(canonicalQuery(r.URL.Query(), sr.Presigned) + "\n")
	headers := slices.Clone(sr.SignedHeaders)
	sort.Strings(headers)
	for _, h := range headers {
		var v string
		switch h {
		case "host":
			v = r.Host
		case "content-length":
			v = r.Header.Get("Content-Length")
			if v == "" && r.ContentLength >= 0 {
				v = fmt.Sprint(r.ContentLength)
			}
		default:
			vals := r.Header.Values(http.CanonicalHeaderKey(h))
			if len(vals) == 0 && !strings.HasPrefix(h, "x-amz-") {
				return "", errorf(codeAccessDenied, "signed header %q is missing", h)
			}
			trimmed := make([]string, len(vals))
			for i, x := range vals {
				trimmed[i] = strings.Join(strings.Fields(x), " ")
			}
			v = strings.Join(trimmed, ",")
		}
		b.WriteString(h + ":" + v + "\n")
	}
	b.WriteString("\n" + strings.Join(headers, ";") + "\n")
	b.WriteString(sr.PayloadHash)
	return b.String(), nil
}

// canonicalURI is the path as the client sent it, URI-encoded once.
func canonicalURI(r *http.Request) string {
	p := r.URL.EscapedPath()
	if p == "" {
		return "/"
	}
	// Re-encode from the decoded path so that clients' escaping choices
	// (such as '+' or '~') match AWS's canonical form.
	return awsEscapePath(r.URL.Path)
}

func awsEscapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '/' || unreserved(c) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func unreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

func awsEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if unreserved(s[i]) {
			b.WriteByte(s[i])
		} else {
			fmt.Fprintf(&b, "%%%02X", s[i])
		}
	}
	return b.String()
}

// canonicalQuery encodes every parameter and sorts by name, then by value
// (not by the joined "name=value": "select-type=2" sorts after "select=").
func canonicalQuery(q url.Values, presigned bool) string {
	type pair struct{ k, v string }
	var pairs []pair
	for k, vs := range q {
		if presigned && k == "X-Amz-Signature" {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, pair{awsEscape(k), awsEscape(v)})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p.k + "=" + p.v
	}
	return strings.Join(parts, "&")
}

// checkSignedHeaders enforces what a signature must cover: the host, and
// every x-amz-* header the request carries (AWS refuses a request with
// unsigned ones, so that nobody can add a copy source or metadata to a
// presigned URL). x-amz-content-sha256 is covered by the payload hash
// line of the canonical request.
func CheckSignedHeaders(r *http.Request, sr *Request) error {
	signed := make(map[string]bool, len(sr.SignedHeaders))
	for _, h := range sr.SignedHeaders {
		signed[h] = true
	}
	if !signed["host"] {
		return errorf(codeAccessDenied, "the host header must be signed")
	}
	var unsigned []string
	for name := range r.Header {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-amz-") && lower != "x-amz-content-sha256" && !signed[lower] {
			unsigned = append(unsigned, lower)
		}
	}
	if len(unsigned) > 0 {
		slices.Sort(unsigned)
		return errorf(codeAccessDenied, "there were headers present in the request which were not signed: %s", strings.Join(unsigned, ", "))
	}
	return nil
}

// stringToSign builds the string the request signature signs.
func StringToSign(canonical string, sr *Request) string {
	return algorithm + "\n" + sr.Time.UTC().Format(amzDateFormat) + "\n" + sr.Cred.scope() + "\n" + sha256Hex([]byte(canonical))
}

// Sign returns the hex signature of a string to sign with a signing key.
func Sign(key []byte, stringToSign string) string {
	return hex.EncodeToString(hmacSHA256(key, stringToSign))
}
