package s3cors

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
)

func TestMatch(t *testing.T) {
	age := 600
	rules := []client.CORSRule{
		{ID: "one", AllowedOrigins: []string{"https://*.example.com"}, AllowedMethods: []string{"GET", "PUT"}, AllowedHeaders: []string{"x-amz-*"}},
		{ID: "any", AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}, MaxAgeSeconds: &age, ExposeHeaders: []string{"ETag"}},
	}
	for _, c := range []struct {
		origin, method string
		headers        []string
		want           string
	}{
		{"https://a.example.com", "PUT", []string{"x-amz-date"}, "one"},
		{"https://a.example.com", "PUT", []string{"content-type"}, ""},
		{"https://a.example.com", "GET", nil, "one"},
		{"https://a.example.com", "GET", []string{"content-type"}, ""}, // no rule allows the header
		{"https://other.org", "GET", nil, "any"},
		{"https://other.org", "DELETE", nil, ""},
	} {
		got := ""
		if r := Match(rules, c.origin, c.method, c.headers); r != nil {
			got = r.ID
		}
		if got != c.want {
			t.Errorf("%s %s %v: rule %q, want %q", c.origin, c.method, c.headers, got, c.want)
		}
	}
	h := http.Header{}
	SetHeaders(h, &rules[1], "https://other.org")
	if h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Credentials") != "" ||
		h.Get("Access-Control-Max-Age") != "600" || h.Get("Access-Control-Expose-Headers") != "ETag" {
		t.Errorf("wildcard rule headers: %v", h)
	}
	h = http.Header{}
	SetPreflight(h, &rules[0], "https://a.example.com", RequestedHeaders(" X-Amz-Date, ,x-amz-meta-a"))
	if h.Get("Access-Control-Allow-Origin") != "https://a.example.com" || h.Get("Access-Control-Allow-Credentials") != "true" ||
		h.Get("Access-Control-Allow-Headers") != "x-amz-date, x-amz-meta-a" || h.Get("Access-Control-Allow-Methods") != "GET, PUT" {
		t.Errorf("preflight headers: %v", h)
	}
}

func TestRead(t *testing.T) {
	read := func(doc string) ([]client.CORSRule, error) {
		return Read(httptest.NewRequest("PUT", "/b?cors", strings.NewReader(doc)))
	}
	rules, err := read(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`)
	if err != nil || len(rules) != 1 || rules[0].AllowedMethods[0] != "GET" {
		t.Fatalf("%+v %v", rules, err)
	}
	for doc, want := range map[string]string{
		`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>`: "InvalidRequest",
		`<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`:                                   "MalformedXML",
		`<Tagging/>`: "MalformedXML",
	} {
		var se *s3err.Error
		if _, err := read(doc); !errors.As(err, &se) || se.Code != want {
			t.Errorf("%s: %v, want %s", doc, err, want)
		}
	}
	if err := CheckPreflight("https://a", "PATCH"); err == nil {
		t.Error("a preflight for PATCH was accepted")
	}
}
