// Package sigv2 verifies AWS Signature Version 2 as S3 uses it: the
// "Authorization: AWS AccessKeyId:Signature" header and presigned query
// strings (AWSAccessKeyId, Expires, Signature). It builds the string to
// sign, checks the HMAC-SHA1 signature and the request's time. Its
// refusals are *Error values carrying the S3 error code. Like sigv4 it
// knows nothing of keys or of what a request does, and does no I/O: the
// caller looks up the secret and passes the clock.
//
// The string to sign, one element a line:
//
//	VERB
//	Content-MD5
//	Content-Type
//	Date          (Expires, epoch seconds, when presigned; empty when x-amz-date is sent)
//	x-amz-name:value                      (zero or more, sorted, lower-case)
//	/bucket/key?subresource=value&...     (no trailing newline)
package sigv2

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxSkew is how far a header-signed request's date may be from
// the server's clock, as in S3.
const DefaultMaxSkew = 15 * time.Minute

// Request is what a Signature Version 2 request claims, parsed from the
// Authorization header or from presigned query parameters.
type Request struct {
	AccessKey string
	Signature string // base64 HMAC-SHA1, as sent
	Presigned bool
	Expires   time.Time // presigned only: the Expires parameter
	Date      time.Time // header auth only: x-amz-date, else Date

	// Bucket, when set, is the bucket a virtual-hosted-style request
	// named in its Host. The canonical resource then begins with
	// "/"+Bucket before the path, as the signer computed it. Parse leaves
	// it empty; the gateway, which knows its domains, sets it.
	Bucket string
}

// IsV2 reports whether r carries a Signature Version 2: an Authorization
// header of the "AWS " scheme, or AWSAccessKeyId and Signature query
// parameters.
func IsV2(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("Authorization"), "AWS ") {
		return true
	}
	q := r.URL.Query()
	return q.Has("AWSAccessKeyId") && q.Has("Signature")
}

// Parse reads the access key and signature of a V2 request, from the
// header or the query string, and the time it was signed for.
func Parse(r *http.Request) (*Request, error) {
	auth := r.Header.Get("Authorization")
	q := r.URL.Query()
	presigned := q.Has("AWSAccessKeyId") || q.Has("Signature")
	switch {
	case auth != "" && q.Has("Signature"):
		return nil, errorf(codeInvalidArgument, "only one auth mechanism allowed; only the Authorization header or the Signature query parameter may be used")
	case auth != "":
		return parseHeader(r, auth)
	case presigned:
		return parseQuery(q)
	default:
		return nil, errorf(codeAccessDenied, "the request carries no Signature Version 2")
	}
}

func parseHeader(r *http.Request, auth string) (*Request, error) {
	rest, ok := strings.CutPrefix(auth, "AWS ")
	if !ok {
		return nil, errorf(codeAccessDenied, "unsupported authorization scheme; expected AWS AccessKeyId:Signature")
	}
	ak, sig, ok := strings.Cut(strings.TrimSpace(rest), ":")
	if !ok || ak == "" || sig == "" || strings.ContainsAny(ak+sig, " \t") {
		return nil, errorf(codeInvalidArgument, "the AWS authorization header is invalid; expected AccessKeyId:Signature")
	}
	date, err := requestDate(r.Header)
	if err != nil {
		return nil, err
	}
	return &Request{AccessKey: ak, Signature: sig, Date: date}, nil
}

// requestDate reads x-amz-date, else Date, in any format S3 accepts.
func requestDate(h http.Header) (time.Time, error) {
	v := h.Get("X-Amz-Date")
	if v == "" {
		v = h.Get("Date")
	}
	for _, layout := range []string{http.TimeFormat, time.RFC1123, time.RFC1123Z, time.RFC850, time.ANSIC, "20060102T150405Z"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errorf(codeAccessDenied, "AWS authentication requires a valid Date or x-amz-date header")
}

func parseQuery(q url.Values) (*Request, error) {
	ak, sig, exp := q.Get("AWSAccessKeyId"), q.Get("Signature"), q.Get("Expires")
	if ak == "" || sig == "" || exp == "" {
		return nil, errorf(codeAccessDenied, "query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
	}
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || secs < 0 {
		return nil, errorf(codeAccessDenied, "invalid Expires %q: not a Unix time in seconds", exp)
	}
	// A client that did not escape the signature's '+' sent a space.
	sig = strings.ReplaceAll(sig, " ", "+")
	return &Request{AccessKey: ak, Signature: sig, Presigned: true, Expires: time.Unix(secs, 0)}, nil
}

// CheckTime refuses an expired presigned request (AccessDenied) and a
// header-signed one whose date is more than maxSkew from now
// (RequestTimeTooSkewed). maxSkew <= 0 means DefaultMaxSkew.
func CheckTime(sr *Request, now time.Time, maxSkew time.Duration) error {
	if maxSkew <= 0 {
		maxSkew = DefaultMaxSkew
	}
	if sr.Presigned {
		if now.After(sr.Expires) {
			return errorf(codeAccessDenied, "Request has expired")
		}
		return nil
	}
	if d := now.Sub(sr.Date); d > maxSkew || d < -maxSkew {
		return errorf(codeRequestTimeTooSkewed, "the difference between the request time and the current time is too large")
	}
	return nil
}

// StringToSign builds the string a V2 signature signs. When x-amz-date is
// sent, its value is signed among the x-amz-* headers and the Date line
// is empty, as the S3 documentation's rules say.
func StringToSign(r *http.Request, sr *Request) string {
	date := r.Header.Get("Date")
	switch {
	case sr.Presigned:
		date = strconv.FormatInt(sr.Expires.Unix(), 10)
	case r.Header.Get("X-Amz-Date") != "":
		date = ""
	}
	return stringToSign(r, sr, date, canonicalAmzHeaders(r.Header, ""))
}

// exampleStringToSign is the form of the S3 documentation's own x-amz-date
// example, which contradicts its rules: the x-amz-date value on the Date
// line and not among the x-amz-* headers. Both forms sign the same date.
func exampleStringToSign(r *http.Request, sr *Request) string {
	return stringToSign(r, sr, r.Header.Get("X-Amz-Date"), canonicalAmzHeaders(r.Header, "x-amz-date"))
}

func stringToSign(r *http.Request, sr *Request, date, amz string) string {
	var b strings.Builder
	b.WriteString(r.Method + "\n")
	b.WriteString(strings.TrimSpace(r.Header.Get("Content-Md5")) + "\n")
	b.WriteString(strings.TrimSpace(r.Header.Get("Content-Type")) + "\n")
	b.WriteString(date + "\n")
	b.WriteString(amz)
	b.WriteString(CanonicalResource(r, sr.Bucket))
	return b.String()
}

// canonicalAmzHeaders lists the x-amz-* headers except skip, lower-case
// and sorted, a line each, repeated values joined by commas.
func canonicalAmzHeaders(h http.Header, skip string) string {
	var names []string
	for name := range h {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-amz-") && lower != skip {
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
	var b strings.Builder
	for _, name := range names {
		vals := make([]string, len(h[name]))
		for i, v := range h[name] {
			vals[i] = unfold(v)
		}
		b.WriteString(strings.ToLower(name) + ":" + strings.Join(vals, ",") + "\n")
	}
	return b.String()
}

// unfold trims a header value and replaces folded line breaks, with the
// whitespace around them, by one space.
func unfold(v string) string {
	lines := strings.FieldsFunc(v, func(r rune) bool { return r == '\r' || r == '\n' })
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, " ")
}

// subresources are the query parameters a V2 signature covers: those of
// the S3 documentation, the response-* overrides, and newer ones that V2
// clients such as minio-go sign. Sorted.
var subresources = []string{
	"accelerate", "acl", "analytics", "cors", "delete", "encryption", "inventory",
	"legal-hold", "lifecycle", "location", "logging", "metrics", "notification",
	"object-lock", "partNumber", "policy", "replication", "requestPayment",
	"response-cache-control", "response-content-disposition", "response-content-encoding",
	"response-content-language", "response-content-type", "response-expires",
	"restore", "retention", "select", "select-type", "tagging", "torrent",
	"uploadId", "uploads", "versionId", "versioning", "versions", "website",
}

// CanonicalResource is "/"+bucket when bucket is set (virtual-hosted
// style), then the path as sent, then the signed subresources sorted, each
// with its decoded value if it has one.
func CanonicalResource(r *http.Request, bucket string) string {
	var b strings.Builder
	if bucket != "" {
		b.WriteString("/" + bucket)
	}
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	b.WriteString(path)
	q := r.URL.Query()
	sep := "?"
	for _, name := range subresources {
		vs, ok := q[name]
		if !ok {
			continue
		}
		b.WriteString(sep + name)
		if len(vs) > 0 && vs[0] != "" {
			b.WriteString("=" + vs[0])
		}
		sep = "&"
	}
	return b.String()
}

// Sign returns the base64 HMAC-SHA1 of a string to sign.
func Sign(secret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks sr's signature of r with the secret of its access key,
// in constant time. It does not check the time: see CheckTime.
func Verify(r *http.Request, sr *Request, secret string) error {
	if equal(Sign(secret, StringToSign(r, sr)), sr.Signature) {
		return nil
	}
	if !sr.Presigned && r.Header.Get("X-Amz-Date") != "" && equal(Sign(secret, exampleStringToSign(r, sr)), sr.Signature) {
		return nil
	}
	return errorf(codeSignatureDoesNotMatch, "the request signature we calculated does not match the signature you provided; check your key and signing method")
}

func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
