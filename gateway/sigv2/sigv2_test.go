package sigv2

import (
	"bufio"
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/s3utils"
	"github.com/minio/minio-go/v7/pkg/signer"
)

const (
	docKey    = "AKIAIOSFODNN7EXAMPLE"
	docSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// received sends r through the wire format and parses it back as a
// server would, so that paths and headers are what a server sees.
func received(t *testing.T, r *http.Request) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func newRequest(t *testing.T, method, rawURL string, header map[string][]string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	return r
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.Code != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
}

// TestDocumentationExamples checks the signatures the S3 documentation of
// Signature Version 2 publishes for its example requests: answers computed
// independently of this package.
func TestDocumentationExamples(t *testing.T) {
	tests := []struct {
		name, method, url, bucket, auth string
		header                          map[string][]string
	}{
		{"object GET, virtual host", "GET", "http://johnsmith.s3.amazonaws.com/photos/puppy.jpg", "johnsmith", "AWS " + docKey + ":bWq2s1WEIj+Ydj0vQ697zp+IXMU=",
			map[string][]string{"Date": {"Tue, 27 Mar 2007 19:36:42 +0000"}}},
		{"object PUT", "PUT", "http://johnsmith.s3.amazonaws.com/photos/puppy.jpg", "johnsmith", "AWS " + docKey + ":MyyxeRY7whkBe+bq8fHCL/2kKUg=",
			map[string][]string{"Date": {"Tue, 27 Mar 2007 21:15:45 +0000"}, "Content-Type": {"image/jpeg"}}},
		{"list, unsigned parameters", "GET", "http://johnsmith.s3.amazonaws.com/?prefix=photos&max-keys=50&marker=puppy", "johnsmith", "AWS " + docKey + ":htDYFYduRNen8P9ZfE/s9SuKy0U=",
			map[string][]string{"Date": {"Tue, 27 Mar 2007 19:42:41 +0000"}, "User-Agent": {"Mozilla/5.0"}}},
		{"subresource", "GET", "http://johnsmith.s3.amazonaws.com/?acl", "johnsmith", "AWS " + docKey + ":c2WLPFtWHVgbEmeEG93a4cG37dM=",
			map[string][]string{"Date": {"Tue, 27 Mar 2007 19:44:46 +0000"}}},
		{"x-amz-date, path style", "DELETE", "http://s3.amazonaws.com/johnsmith/photos/puppy.jpg", "", "AWS " + docKey + ":lx3byBScXR6KzyMaifNkardMwNk=",
			map[string][]string{"Date": {"Tue, 27 Mar 2007 21:20:27 +0000"}, "X-Amz-Date": {"Tue, 27 Mar 2007 21:20:26 +0000"}}},
		{"x-amz-* headers, CNAME bucket", "PUT", "http://static.johnsmith.net:8080/db-backup.dat.gz", "static.johnsmith.net", "AWS " + docKey + ":ilyl83RwaSoYIEdixDQcA4OnAnc=",
			map[string][]string{
				"Date": {"Tue, 27 Mar 2007 21:06:08 +0000"}, "Content-Type": {"application/x-download"},
				"Content-Md5": {"4gJE4saaMU4BqNR0kLY+lw=="}, "X-Amz-Acl": {"public-read"},
				"X-Amz-Meta-Reviewedby":        {"joe@johnsmith.net", "jane@johnsmith.net"},
				"X-Amz-Meta-Filechecksum":      {"0x02661779"},
				"X-Amz-Meta-Checksumalgorithm": {"crc32"},
				"Content-Disposition":          {"attachment; filename=database.dat"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.header["Authorization"] = []string{tt.auth}
			r := received(t, newRequest(t, tt.method, tt.url, tt.header))
			if !IsV2(r) {
				t.Fatal("not recognised as V2")
			}
			sr, err := Parse(r)
			if err != nil {
				t.Fatal(err)
			}
			sr.Bucket = tt.bucket
			if err := Verify(r, sr, docSecret); err != nil {
				t.Fatalf("%v; string to sign:\n%s", err, StringToSign(r, sr))
			}
		})
	}
}

// TestDocumentationPresigned checks the documentation's query-string
// authentication example.
func TestDocumentationPresigned(t *testing.T) {
	r := received(t, newRequest(t, "GET", "http://johnsmith.s3.amazonaws.com/photos/puppy.jpg?AWSAccessKeyId="+docKey+
		"&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620", nil))
	sr, err := Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	sr.Bucket = "johnsmith"
	if err := Verify(r, sr, docSecret); err != nil {
		t.Fatalf("%v; string to sign:\n%s", err, StringToSign(r, sr))
	}
	if err := CheckTime(sr, time.Unix(1175139620, 0), 0); err != nil {
		t.Fatalf("at the expiry second: %v", err)
	}
	wantCode(t, CheckTime(sr, time.Unix(1175139621, 0), 0), "AccessDenied")
}

// TestXAmzDateRule checks the rule the documentation states for x-amz-date
// (an empty Date line, x-amz-date signed among the x-amz-* headers), as
// boto's V2 signer applies it.
func TestXAmzDateRule(t *testing.T) {
	r := received(t, newRequest(t, "DELETE", "http://s3.amazonaws.com/johnsmith/photos/puppy.jpg", map[string][]string{
		"Date": {"Tue, 27 Mar 2007 21:20:27 +0000"}, "X-Amz-Date": {"Tue, 27 Mar 2007 21:20:26 +0000"}}))
	want := "DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg"
	sr := &Request{AccessKey: docKey}
	if got := StringToSign(r, sr); got != want {
		t.Fatalf("string to sign\n%q, want\n%q", got, want)
	}
	sr.Signature = Sign(docSecret, want)
	if err := Verify(r, sr, docSecret); err != nil {
		t.Fatal(err)
	}
}

// minioRequest builds a request the way minio-go does (an escaped path)
// and signs it with minio-go's V2 signer, an implementation independent
// of this package.
func minioRequest(t *testing.T, method, host, path, query string, header map[string][]string, presign bool, virtualHost bool) *http.Request {
	t.Helper()
	u := &url.URL{Scheme: "http", Host: host, Path: path, RawPath: s3utils.EncodePath(path), RawQuery: query}
	r := newRequest(t, method, u.String(), header)
	if presign {
		r = signer.PreSignV2(*r, "AK", "SECRET", 600, virtualHost)
	} else {
		r = signer.SignV2(*r, "AK", "SECRET", virtualHost)
	}
	return received(t, r)
}

func TestMinioSigned(t *testing.T) {
	hdr := func() map[string][]string {
		return map[string][]string{"Content-Type": {"text/plain"}, "Content-Md5": {"XrY7u+Ae7tCTyyK7j1rNww=="},
			"X-Amz-Meta-Color": {"blue"}, "X-Amz-Acl": {"private"}}
	}
	tests := []struct {
		name, host, path, query, bucket string
		presign, virtual                bool
	}{
		{"header", "s3.local", "/b/dir/key.txt", "", "", false, false},
		{"header, odd key", "s3.local", "/b/a b+c=d&e%f~é", "", "", false, false},
		{"header, subresources", "s3.local", "/b/k", "uploadId=u%2B1&partNumber=3&prefix=ignored", "", false, false},
		{"header, response override", "s3.local", "/b/k", "response-content-type=text%2Fhtml&versionId=v1", "", false, false},
		{"header, bucket acl", "s3.local", "/b", "acl", "", false, false},
		{"header, virtual host", "b.s3.local", "/k", "tagging", "b", false, true},
		{"presigned", "s3.local", "/b/dir/key.txt", "", "", true, false},
		{"presigned, subresource", "s3.local", "/b/k", "versionId=3%2F4", "", true, false},
		{"presigned, virtual host", "b.s3.local", "/k", "", "b", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := minioRequest(t, "PUT", tt.host, tt.path, tt.query, hdr(), tt.presign, tt.virtual)
			if !IsV2(r) {
				t.Fatal("not recognised as V2")
			}
			sr, err := Parse(r)
			if err != nil {
				t.Fatal(err)
			}
			if sr.AccessKey != "AK" || sr.Presigned != tt.presign {
				t.Fatalf("parsed %+v", sr)
			}
			sr.Bucket = tt.bucket
			if err := Verify(r, sr, "SECRET"); err != nil {
				t.Fatalf("%v; string to sign:\n%s", err, StringToSign(r, sr))
			}
			if err := CheckTime(sr, time.Now(), 0); err != nil {
				t.Fatal(err)
			}
			wantCode(t, Verify(r, sr, "WRONG"), "SignatureDoesNotMatch")
		})
	}
}

// TestTampered changes one signed part of a signed request at a time.
func TestTampered(t *testing.T) {
	tamper := map[string]func(r *http.Request){
		"method":         func(r *http.Request) { r.Method = "DELETE" },
		"path":           func(r *http.Request) { r.URL.Path, r.URL.RawPath = "/b/other", "" },
		"subresource":    func(r *http.Request) { setQuery(r, "acl", "") },
		"subresource v":  func(r *http.Request) { setQuery(r, "versionId", "2") },
		"x-amz header":   func(r *http.Request) { r.Header.Set("X-Amz-Meta-Color", "red") },
		"added x-amz":    func(r *http.Request) { r.Header.Set("X-Amz-Copy-Source", "/b/secret") },
		"content-type":   func(r *http.Request) { r.Header.Set("Content-Type", "text/html") },
		"content-md5":    func(r *http.Request) { r.Header.Del("Content-Md5") },
		"date":           func(r *http.Request) { r.Header.Set("Date", time.Now().Add(time.Second).UTC().Format(http.TimeFormat)) },
		"virtual bucket": func(r *http.Request) { r.Host = "c.s3.local" },
	}
	for name, f := range tamper {
		for _, presign := range []bool{false, true} {
			if presign && name == "date" {
				continue
			}
			r := minioRequest(t, "GET", "s3.local", "/b/k", "versionId=1", map[string][]string{
				"Content-Type": {"text/plain"}, "Content-Md5": {"XrY7u+Ae7tCTyyK7j1rNww=="}, "X-Amz-Meta-Color": {"blue"}}, presign, false)
			f(r)
			sr, err := Parse(r)
			if err != nil {
				t.Fatal(err)
			}
			if name == "virtual bucket" {
				sr.Bucket = strings.Split(r.Host, ".")[0]
			}
			if err := Verify(r, sr, "SECRET"); err == nil {
				t.Errorf("%s (presigned %v): tampered request verified", name, presign)
			} else {
				wantCode(t, err, "SignatureDoesNotMatch")
			}
		}
	}
	// The Expires of a presigned URL is signed too.
	r := minioRequest(t, "GET", "s3.local", "/b/k", "", nil, true, false)
	setQuery(r, "Expires", "99999999999")
	sr, err := Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, Verify(r, sr, "SECRET"), "SignatureDoesNotMatch")
}

func setQuery(r *http.Request, k, v string) {
	q := r.URL.Query()
	q.Set(k, v)
	r.URL.RawQuery = q.Encode()
}

func TestCheckTime(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		sr   Request
		skew time.Duration
		code string
	}{
		{"on time", Request{Date: now}, 0, ""},
		{"14 minutes slow", Request{Date: now.Add(-14 * time.Minute)}, 0, ""},
		{"16 minutes slow", Request{Date: now.Add(-16 * time.Minute)}, 0, "RequestTimeTooSkewed"},
		{"16 minutes fast", Request{Date: now.Add(16 * time.Minute)}, 0, "RequestTimeTooSkewed"},
		{"custom skew", Request{Date: now.Add(-2 * time.Minute)}, time.Minute, "RequestTimeTooSkewed"},
		{"presigned, valid", Request{Presigned: true, Expires: now.Add(time.Second)}, 0, ""},
		{"presigned, old signing date irrelevant", Request{Presigned: true, Expires: now.Add(time.Hour), Date: now.Add(-time.Hour)}, 0, ""},
		{"presigned, expired", Request{Presigned: true, Expires: now.Add(-time.Second)}, 0, "AccessDenied"},
	}
	for _, tt := range tests {
		err := CheckTime(&tt.sr, now, tt.skew)
		if tt.code == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		wantCode(t, err, tt.code)
	}
}

func TestParseErrors(t *testing.T) {
	date := map[string]string{"Date": "Mon, 30 Nov 2026 12:00:00 GMT"}
	tests := []struct {
		name, query, auth string
		header            map[string]string
		code              string
	}{
		{"no colon", "", "AWS AKSIG", date, "InvalidArgument"},
		{"empty key", "", "AWS :sig", date, "InvalidArgument"},
		{"empty signature", "", "AWS AK:", date, "InvalidArgument"},
		{"spaces", "", "AWS AK:si g", date, "InvalidArgument"},
		{"V4 scheme", "", "AWS4-HMAC-SHA256 Credential=x", date, "AccessDenied"},
		{"no date", "", "AWS AK:sig", nil, "AccessDenied"},
		{"bad date", "", "AWS AK:sig", map[string]string{"Date": "yesterday"}, "AccessDenied"},
		{"bad x-amz-date", "", "AWS AK:sig", map[string]string{"Date": date["Date"], "X-Amz-Date": "soon"}, "AccessDenied"},
		{"both mechanisms", "AWSAccessKeyId=AK&Signature=s&Expires=1", "AWS AK:sig", date, "InvalidArgument"},
		{"query without Expires", "AWSAccessKeyId=AK&Signature=s", "", nil, "AccessDenied"},
		{"query without key", "Signature=s&Expires=1", "", nil, "AccessDenied"},
		{"query without signature", "AWSAccessKeyId=AK&Expires=1", "", nil, "AccessDenied"},
		{"query bad Expires", "AWSAccessKeyId=AK&Signature=s&Expires=soon", "", nil, "AccessDenied"},
		{"query negative Expires", "AWSAccessKeyId=AK&Signature=s&Expires=-1", "", nil, "AccessDenied"},
		{"nothing", "", "", nil, "AccessDenied"},
	}
	for _, tt := range tests {
		r := newRequest(t, "GET", "http://h/b/k?"+tt.query, nil)
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		for k, v := range tt.header {
			r.Header.Set(k, v)
		}
		sr, err := Parse(r)
		if err == nil {
			t.Errorf("%s: parsed %+v", tt.name, sr)
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != tt.code {
			t.Errorf("%s: error %v, want %s", tt.name, err, tt.code)
		}
	}
}

func TestIsV2(t *testing.T) {
	tests := []struct {
		query, auth string
		want        bool
	}{
		{"", "AWS AK:sig", true},
		{"", "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/aws4_request", false},
		{"AWSAccessKeyId=AK&Signature=s&Expires=1", "", true},
		{"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=s", "", false},
		{"Signature=s", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		r := newRequest(t, "GET", "http://h/b/k?"+tt.query, nil)
		if tt.auth != "" {
			r.Header.Set("Authorization", tt.auth)
		}
		if got := IsV2(r); got != tt.want {
			t.Errorf("IsV2(%q, %q) = %v", tt.query, tt.auth, got)
		}
	}
}

// TestUnescapedPlus accepts a presigned signature whose '+' the client
// left unescaped, which the query decoding turns into a space.
func TestUnescapedPlus(t *testing.T) {
	r := received(t, newRequest(t, "GET", "http://johnsmith.s3.amazonaws.com/photos/puppy.jpg?AWSAccessKeyId="+docKey+
		"&Signature=NpgCjnDzrM+WFzoENXmpNDUsSn8%3D&Expires=1175139620", nil))
	sr, err := Parse(r)
	if err != nil {
		t.Fatal(err)
	}
	sr.Bucket = "johnsmith"
	if err := Verify(r, sr, docSecret); err != nil {
		t.Fatal(err)
	}
}
