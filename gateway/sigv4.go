package gateway

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
type credential struct {
	accessKey, date, region, service string
}

func (c credential) scope() string {
	return c.date + "/" + c.region + "/" + c.service + "/aws4_request"
}

// sigRequest is everything a SigV4 signature covers, parsed from the
// Authorization header or from presigned query parameters.
type sigRequest struct {
	cred          credential
	signedHeaders []string
	signature     string
	amzDate       time.Time
	payloadHash   string // hex, or one of the special values
	presigned     bool
	expires       time.Duration
}

// parseAuthHeader parses "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=...".
func parseAuthHeader(r *http.Request) (*sigRequest, error) {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, algorithm+" ")
	if !ok {
		return nil, errorf(ErrAccessDenied, "unsupported authorization scheme; use %s", algorithm)
	}
	sr := &sigRequest{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, errorf(ErrAuthorizationHeaderMalformed, "malformed authorization element %q", part)
		}
		switch k {
		case "Credential":
			c, err := parseCredential(v)
			if err != nil {
				return nil, err
			}
			sr.cred = c
		case "SignedHeaders":
			sr.signedHeaders = strings.Split(v, ";")
		case "Signature":
			sr.signature = v
		}
	}
	if sr.cred.accessKey == "" || len(sr.signedHeaders) == 0 || len(sr.signature) != 64 {
		return nil, errorf(ErrAuthorizationHeaderMalformed, "the authorization header needs Credential, SignedHeaders and Signature")
	}
	date, err := time.Parse(amzDateFormat, r.Header.Get("X-Amz-Date"))
	if err != nil {
		if date, err = http.ParseTime(r.Header.Get("Date")); err != nil {
			return nil, errorf(ErrAccessDenied, "missing or malformed X-Amz-Date")
		}
	}
	sr.amzDate = date
	sr.payloadHash = r.Header.Get("X-Amz-Content-Sha256")
	if sr.payloadHash == "" {
		sr.payloadHash = unsignedPayload
	}
	return sr, nil
}

func parseCredential(v string) (credential, error) {
	parts := strings.Split(v, "/")
	if len(parts) != 5 || parts[4] != "aws4_request" || parts[3] != "s3" || len(parts[1]) != 8 {
		return credential{}, errorf(ErrAuthorizationHeaderMalformed, "malformed credential %q", v)
	}
	return credential{accessKey: parts[0], date: parts[1], region: parts[2], service: parts[3]}, nil
}

// parsePresigned reads a signature from X-Amz-* query parameters.
func parsePresigned(q url.Values) (*sigRequest, error) {
	if q.Get("X-Amz-Algorithm") != algorithm {
		return nil, errorf(ErrAccessDenied, "unsupported presigned algorithm")
	}
	c, err := parseCredential(q.Get("X-Amz-Credential"))
	if err != nil {
		return nil, err
	}
	date, err := time.Parse(amzDateFormat, q.Get("X-Amz-Date"))
	if err != nil {
		return nil, errorf(ErrAuthorizationQueryParametersError, "malformed X-Amz-Date")
	}
	var secs int64
	if _, err := fmt.Sscanf(q.Get("X-Amz-Expires"), "%d", &secs); err != nil || secs < 1 || secs > 7*24*3600 {
		return nil, errorf(ErrAuthorizationQueryParametersError, "X-Amz-Expires must be 1 to 604800 seconds")
	}
	sig := q.Get("X-Amz-Signature")
	if len(sig) != 64 || q.Get("X-Amz-SignedHeaders") == "" {
		return nil, errorf(ErrAuthorizationQueryParametersError, "missing signature or signed headers")
	}
	return &sigRequest{
		cred: c, signedHeaders: strings.Split(q.Get("X-Amz-SignedHeaders"), ";"), signature: sig,
		amzDate: date, payloadHash: unsignedPayload, presigned: true, expires: time.Duration(secs) * time.Second,
	}, nil
}

// signingKey derives the key for a credential scope.
func signingKey(secret string, c credential) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), c.date)
	k = hmacSHA256(k, c.region)
	k = hmacSHA256(k, c.service)
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
func canonicalRequest(r *http.Request, sr *sigRequest) (string, error) {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(canonicalURI(r) + "\n")
	b.WriteString(canonicalQuery(r.URL.Query(), sr.presigned) + "\n")
	headers := slices.Clone(sr.signedHeaders)
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
				return "", errorf(ErrAccessDenied, "signed header %q is missing", h)
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
	b.WriteString(sr.payloadHash)
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
func checkSignedHeaders(r *http.Request, sr *sigRequest) error {
	signed := make(map[string]bool, len(sr.signedHeaders))
	for _, h := range sr.signedHeaders {
		signed[h] = true
	}
	if !signed["host"] {
		return errorf(ErrAccessDenied, "the host header must be signed")
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
		return errorf(ErrAccessDenied, "there were headers present in the request which were not signed: %s", strings.Join(unsigned, ", "))
	}
	return nil
}

// stringToSign builds the string the request signature signs.
func stringToSign(canonical string, sr *sigRequest) string {
	return algorithm + "\n" + sr.amzDate.UTC().Format(amzDateFormat) + "\n" + sr.cred.scope() + "\n" + sha256Hex([]byte(canonical))
}
