package gateway_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/cors"
)

// preflightReq sends an unsigned CORS preflight, as a browser does.
func preflightReq(t *testing.T, url, origin, method, headers string) (int, http.Header, s3Err) {
	t.Helper()
	req, err := http.NewRequest(http.MethodOptions, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers} {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	return sendRaw(t, req)
}

// sendRaw sends req as it is and returns status, headers and S3 error.
func sendRaw(t *testing.T, req *http.Request) (int, http.Header, s3Err) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e s3Err
	if resp.StatusCode >= 300 {
		if err := xmlUnmarshal(raw, &e); err != nil || e.RequestID == "" {
			t.Fatalf("status %d with a body that is not S3 XML: %q", resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, resp.Header, e
}

var corsHeaderNames = []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
	"Access-Control-Expose-Headers", "Access-Control-Max-Age", "Access-Control-Allow-Credentials"}

func noCORSHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	for _, n := range corsHeaderNames {
		if v := h.Get(n); v != "" {
			t.Errorf("%s: %s: %s, want no CORS headers", what, n, v)
		}
	}
}

func TestS3BucketCORS(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 2*time.Minute)
	for _, b := range []string{"site", "plain"} {
		if err := mc.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := mc.PutObject(ctx, "site", "index.html", strings.NewReader("<html/>"), 7, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, err := mc.GetBucketCors(ctx, "site"); err != nil || got != nil {
		t.Fatalf("CORS of a new bucket: %+v %v", got, err)
	}
	conf := cors.NewConfig([]cors.Rule{
		{ID: "app", AllowedOrigin: []string{"https://app.example.com"}, AllowedMethod: []string{"GET", "PUT"},
			AllowedHeader: []string{"x-amz-*", "Content-Type"}, ExposeHeader: []string{"ETag", "x-amz-request-id"}, MaxAgeSeconds: 600},
		{AllowedOrigin: []string{"https://*.example.org"}, AllowedMethod: []string{"GET", "HEAD"}},
		{AllowedOrigin: []string{"*"}, AllowedMethod: []string{"HEAD"}},
	})
	if err := mc.SetBucketCors(ctx, "site", conf); err != nil {
		t.Fatal(err)
	}
	got, err := mc.GetBucketCors(ctx, "site")
	if err != nil || got == nil || len(got.CORSRules) != 3 || got.CORSRules[0].ID != "app" || got.CORSRules[0].MaxAgeSeconds != 600 ||
		!slices.Equal(got.CORSRules[0].AllowedHeader, []string{"x-amz-*", "Content-Type"}) ||
		!slices.Equal(got.CORSRules[1].AllowedOrigin, []string{"https://*.example.org"}) {
		t.Fatalf("CORS read back: %+v %v", got, err)
	}

	obj := "http://" + addr + "/site/index.html"
	// A preflight answered by the first rule, with the headers asked for.
	status, h, e := preflightReq(t, obj, "https://app.example.com", "PUT", "X-Amz-Date, content-type")
	if status != 200 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		h.Get("Access-Control-Allow-Methods") != "GET, PUT" || h.Get("Access-Control-Allow-Headers") != "x-amz-date, content-type" ||
		h.Get("Access-Control-Expose-Headers") != "ETag, x-amz-request-id" || h.Get("Access-Control-Max-Age") != "600" ||
		h.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(h.Get("Vary"), "Origin") {
		t.Fatalf("preflight: %d %s %v", status, e.Code, h)
	}
	// A wildcard origin, on the bucket itself.
	status, h, e = preflightReq(t, "http://"+addr+"/site", "https://cdn.example.org", "GET", "")
	if status != 200 || h.Get("Access-Control-Allow-Origin") != "https://cdn.example.org" || h.Get("Access-Control-Allow-Methods") != "GET, HEAD" {
		t.Fatalf("wildcard preflight: %d %s %v", status, e.Code, h)
	}
	// The "*" origin answers "*" and grants no credentials.
	status, h, e = preflightReq(t, obj, "http://anywhere.test", "HEAD", "")
	if status != 200 || h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Credentials") != "" {
		t.Fatalf("star preflight: %d %s %v", status, e.Code, h)
	}
	for _, c := range []struct {
		name, url, origin, method, headers string
		status                             int
		code                               string
	}{
		{"header not allowed", obj, "https://app.example.com", "PUT", "authorization", 403, "AccessForbidden"},
		{"method not allowed", obj, "https://app.example.com", "DELETE", "", 403, "AccessForbidden"},
		{"origin not allowed", obj, "https://evil.test", "GET", "", 403, "AccessForbidden"},
		{"no origin", obj, "", "GET", "", 400, "BadRequest"},
		{"no method", obj, "https://app.example.com", "", "", 400, "BadRequest"},
		{"bad method", obj, "https://app.example.com", "PATCH", "", 400, "BadRequest"},
		{"bucket without CORS", "http://" + addr + "/plain/x", "https://app.example.com", "GET", "", 403, "AccessForbidden"},
		{"missing bucket", "http://" + addr + "/nobucket/x", "https://app.example.com", "GET", "", 403, "AccessForbidden"},
	} {
		status, h, e := preflightReq(t, c.url, c.origin, c.method, c.headers)
		if status != c.status || e.Code != c.code {
			t.Errorf("%s: %d %s (%s), want %d %s", c.name, status, e.Code, e.Message, c.status, c.code)
		}
		noCORSHeaders(t, c.name, h)
	}

	// Actual (signed) requests from a browser get the matching rule's headers.
	req := newReq(t, "GET", obj, nil)
	req.Header.Set("Origin", "https://app.example.com")
	status, h, _ = roundTrip(t, req)
	if status != 200 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		h.Get("Access-Control-Expose-Headers") != "ETag, x-amz-request-id" || h.Get("Vary") != "Origin" {
		t.Fatalf("GET from an allowed origin: %d %v", status, h)
	}
	req = newReq(t, "GET", obj, nil)
	req.Header.Set("Origin", "https://evil.test")
	status, h, _ = roundTrip(t, req)
	if status != 200 {
		t.Fatalf("GET from another origin: %d", status)
	}
	noCORSHeaders(t, "GET from another origin", h)
	status, h, _ = roundTrip(t, newReq(t, "GET", obj, nil))
	if status != 200 {
		t.Fatalf("GET without an origin: %d", status)
	}
	noCORSHeaders(t, "GET without an origin", h)
	req = newReq(t, "GET", "http://"+addr+"/plain", nil)
	req.Header.Set("Origin", "https://app.example.com")
	status, h, _ = roundTrip(t, req)
	if status != 200 {
		t.Fatalf("listing a bucket without CORS: %d", status)
	}
	noCORSHeaders(t, "a bucket without CORS", h)

	// Deleting the configuration ends CORS.
	if err := mc.SetBucketCors(ctx, "site", nil); err != nil {
		t.Fatal(err)
	}
	if got, err := mc.GetBucketCors(ctx, "site"); err != nil || got != nil {
		t.Fatalf("CORS after delete: %+v %v", got, err)
	}
	if status, _, e := preflightReq(t, obj, "https://app.example.com", "GET", ""); status != 403 || e.Code != "AccessForbidden" {
		t.Fatalf("preflight after delete: %d %s", status, e.Code)
	}
	req = newReq(t, "GET", obj, nil)
	req.Header.Set("Origin", "https://app.example.com")
	_, h, _ = roundTrip(t, req)
	noCORSHeaders(t, "GET after delete", h)
}

// TestS3CORSErrors: S3's errors for bad CORS configurations, each of
// which leaves the configuration as it was.
func TestS3CORSErrors(t *testing.T) {
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 2*time.Minute)
	if err := mc.MakeBucket(ctx, "cerr", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	keep := cors.NewConfig([]cors.Rule{{AllowedOrigin: []string{"https://keep.test"}, AllowedMethod: []string{"GET"}}})
	if err := mc.SetBucketCors(ctx, "cerr", keep); err != nil {
		t.Fatal(err)
	}
	rule := func(inner string) []byte {
		return []byte("<CORSConfiguration><CORSRule>" + inner + "</CORSRule></CORSConfiguration>")
	}
	many := "<CORSConfiguration>" + strings.Repeat("<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>", 101) + "</CORSConfiguration>"
	u := "http://" + addr + "/cerr?cors"
	for _, c := range []struct {
		name   string
		url    string
		body   []byte
		header map[string]string
		status int
		code   string
	}{
		{"not XML", u, []byte("<CORSConfiguration><CORSRule>"), nil, 400, "MalformedXML"},
		{"empty body", u, nil, nil, 400, "MalformedXML"},
		{"no rules", u, []byte("<CORSConfiguration></CORSConfiguration>"), nil, 400, "MalformedXML"},
		{"no origin", u, rule("<AllowedMethod>GET</AllowedMethod>"), nil, 400, "MalformedXML"},
		{"no method", u, rule("<AllowedOrigin>*</AllowedOrigin>"), nil, 400, "MalformedXML"},
		{"unsupported method", u, rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>"), nil, 400, "InvalidRequest"},
		{"two wildcards", u, rule("<AllowedOrigin>*.*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"), nil, 400, "InvalidRequest"},
		{"bad max age", u, rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>soon</MaxAgeSeconds>"), nil, 400, "MalformedXML"},
		{"101 rules", u, []byte(many), nil, 400, "MalformedXML"},
		{"wrong Content-MD5", u, rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"), map[string]string{"Content-Md5": "1B2M2Y8AsgTpgAmY7PhCfg=="}, 400, "BadDigest"},
		{"missing bucket", "http://" + addr + "/nobucket?cors", rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"), nil, 404, "NoSuchBucket"},
		{"CORS on an object", "http://" + addr + "/cerr/o?cors", rule("<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"), nil, 501, "NotImplemented"},
	} {
		req := newReq(t, "PUT", c.url, c.body)
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		status, e := send(t, req, rootAccess, rootSecret, true)
		if status != c.status || e.Code != c.code {
			t.Errorf("%s: %d %s (%s), want %d %s", c.name, status, e.Code, e.Message, c.status, c.code)
		}
		got, err := mc.GetBucketCors(ctx, "cerr")
		if err != nil || got == nil || len(got.CORSRules) != 1 || got.CORSRules[0].AllowedOrigin[0] != "https://keep.test" {
			t.Fatalf("after %s: CORS %+v %v", c.name, got, err)
		}
	}
	if status, e := send(t, newReq(t, "GET", "http://"+addr+"/nobucket?cors", nil), rootAccess, rootSecret, true); status != 404 || e.Code != "NoSuchBucket" {
		t.Fatalf("GetBucketCors of a missing bucket: %d %s", status, e.Code)
	}
	if status, e := send(t, newReq(t, "DELETE", "http://"+addr+"/cerr?cors", nil), rootAccess, rootSecret, true); status != 204 {
		t.Fatalf("DeleteBucketCors: %d %s", status, e.Code)
	}
	if status, e := send(t, newReq(t, "GET", "http://"+addr+"/cerr?cors", nil), rootAccess, rootSecret, true); status != 404 || e.Code != "NoSuchCORSConfiguration" {
		t.Fatalf("GetBucketCors after delete: %d %s", status, e.Code)
	}
}

// TestAWSCLICORS: the AWS CLI's s3api CORS calls.
func TestAWSCLICORS(t *testing.T) {
	aws := need(t, awsCLI)
	_, mc, addr := startS3(t)
	ctx := ctxT(t, 3*time.Minute)
	if err := mc.MakeBucket(ctx, "clicors", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	s3api := s3apiText(t, aws, addr)
	conf := `{"CORSRules":[{"ID":"web","AllowedOrigins":["https://www.example.com"],"AllowedMethods":["GET","PUT"],"AllowedHeaders":["*"],"ExposeHeaders":["ETag"],"MaxAgeSeconds":3000}]}`
	s3api("put-bucket-cors", "--bucket", "clicors", "--cors-configuration", conf)
	var got struct {
		CORSRules []struct {
			ID             string
			AllowedOrigins []string
			AllowedMethods []string
			AllowedHeaders []string
			ExposeHeaders  []string
			MaxAgeSeconds  int
		}
	}
	out := s3api("get-bucket-cors", "--bucket", "clicors")
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.CORSRules) != 1 {
		t.Fatalf("get-bucket-cors: %v %s", err, out)
	}
	r := got.CORSRules[0]
	if r.ID != "web" || !slices.Equal(r.AllowedOrigins, []string{"https://www.example.com"}) || !slices.Equal(r.AllowedMethods, []string{"GET", "PUT"}) ||
		!slices.Equal(r.AllowedHeaders, []string{"*"}) || !slices.Equal(r.ExposeHeaders, []string{"ETag"}) || r.MaxAgeSeconds != 3000 {
		t.Fatalf("get-bucket-cors: %+v", r)
	}
	if status, h, _ := preflightReq(t, "http://"+addr+"/clicors/k", "https://www.example.com", "PUT", "content-type"); status != 200 || h.Get("Access-Control-Allow-Headers") != "content-type" {
		t.Fatalf("preflight after put-bucket-cors: %d %v", status, h)
	}
	if out := s3apiFails(t, aws, addr, "put-bucket-cors", "--bucket", "clicors", "--cors-configuration",
		`{"CORSRules":[{"AllowedOrigins":["*"],"AllowedMethods":["PATCH"]}]}`); !strings.Contains(out, "InvalidRequest") {
		t.Fatalf("put-bucket-cors with PATCH: %s", out)
	}
	s3api("delete-bucket-cors", "--bucket", "clicors")
	if out := s3apiFails(t, aws, addr, "get-bucket-cors", "--bucket", "clicors"); !strings.Contains(out, "NoSuchCORSConfiguration") {
		t.Fatalf("get-bucket-cors after delete: %s", out)
	}
}

func xmlUnmarshal(raw []byte, v any) error { return xml.Unmarshal(raw, v) }
