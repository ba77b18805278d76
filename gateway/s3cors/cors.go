// Package s3cors is S3's cross-origin resource sharing: the
// CORSConfiguration document (read and checked as S3 does, and written),
// matching a request's origin, method and headers against a bucket's
// rules, and the Access-Control-* headers a matching rule grants, for
// preflights and actual requests. It knows nothing of the gateway's
// server; refusals are *s3err.Error values.
package s3cors

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3xml"
	"github.com/granary-store/granary/internal/proto"
)

// ruleXML is one CORSRule of S3's CORSConfiguration document.
type ruleXML struct {
	ID             string   `xml:"ID,omitempty"`
	AllowedHeaders []string `xml:"AllowedHeader"`
	AllowedMethods []string `xml:"AllowedMethod"`
	AllowedOrigins []string `xml:"AllowedOrigin"`
	ExposeHeaders  []string `xml:"ExposeHeader"`
	MaxAgeSeconds  *int     `xml:"MaxAgeSeconds"`
}

// Configuration is S3's CORSConfiguration document.
type Configuration struct {
	XMLName struct{}  `xml:"CORSConfiguration"`
	NS      string    `xml:"xmlns,attr,omitempty"`
	Rules   []ruleXML `xml:"CORSRule"`
}

// Read reads a CORSConfiguration document and checks it as S3 does.
func Read(r *http.Request) ([]client.CORSRule, error) {
	var doc Configuration
	if err := s3xml.ReadConfig(r, &doc); err != nil {
		return nil, err
	}
	rules := make([]client.CORSRule, 0, len(doc.Rules))
	for _, x := range doc.Rules {
		rules = append(rules, client.CORSRule{ID: x.ID, AllowedOrigins: x.AllowedOrigins, AllowedMethods: x.AllowedMethods,
			AllowedHeaders: x.AllowedHeaders, ExposeHeaders: x.ExposeHeaders, MaxAgeSeconds: x.MaxAgeSeconds})
	}
	var ce *proto.CORSError
	switch err := proto.ValidCORS(rules); {
	case err == nil:
		return rules, nil
	case errors.As(err, &ce) && ce.Method != "":
		return nil, s3err.New(s3err.InvalidRequest, "found unsupported HTTP method in CORS config. Unsupported method is %s", ce.Method)
	case errors.As(err, &ce) && strings.Contains(ce.Why, "wildcard"):
		return nil, s3err.New(s3err.InvalidRequest, "%s", ce.Why)
	}
	return nil, s3xml.Malformed()
}

// Match finds the first rule that allows origin to make a request
// with method and, for a preflight, the headers asked for.
func Match(rules []client.CORSRule, origin, method string, headers []string) *client.CORSRule {
	for i := range rules {
		c := &rules[i]
		if anyMatch(c.AllowedOrigins, origin, false) && contains(c.AllowedMethods, method) && allHeadersAllowed(c.AllowedHeaders, headers) {
			return c
		}
	}
	return nil
}

func anyMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			p = strings.ToLower(p)
		}
		if proto.WildcardMatch(p, s) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func allHeadersAllowed(allowed, asked []string) bool {
	for _, h := range asked {
		if !anyMatch(allowed, h, true) {
			return false
		}
	}
	return true
}

// RequestedHeaders splits Access-Control-Request-Headers, lowercased.
func RequestedHeaders(v string) []string {
	var out []string
	for _, h := range strings.Split(v, ",") {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// SetHeaders writes the headers a matching rule grants.
func SetHeaders(h http.Header, c *client.CORSRule, origin string) {
	if contains(c.AllowedOrigins, "*") {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Access-Control-Allow-Methods", strings.Join(c.AllowedMethods, ", "))
	if len(c.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ", "))
	}
	if c.MaxAgeSeconds != nil {
		h.Set("Access-Control-Max-Age", strconv.Itoa(*c.MaxAgeSeconds))
	}
}

// Forbidden is the message of the AccessForbidden a preflight no rule
// allows is refused with, as S3 words it.
const Forbidden = "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."

// Document is the CORSConfiguration document of rules.
func Document(rules []client.CORSRule) Configuration {
	doc := Configuration{NS: s3xml.NS}
	for _, c := range rules {
		doc.Rules = append(doc.Rules, ruleXML{ID: c.ID, AllowedHeaders: c.AllowedHeaders, AllowedMethods: c.AllowedMethods,
			AllowedOrigins: c.AllowedOrigins, ExposeHeaders: c.ExposeHeaders, MaxAgeSeconds: c.MaxAgeSeconds})
	}
	return doc
}

// CheckPreflight checks that a preflight names its origin and a method a
// rule may allow (BadRequest).
func CheckPreflight(origin, method string) error {
	switch {
	case origin == "":
		return s3err.New(s3err.BadRequest, "insufficient information. Origin request header needed.")
	case method == "":
		return s3err.New(s3err.BadRequest, "insufficient information. Access-Control-Request-Method request header needed.")
	case !proto.ValidCORSMethod(method):
		return s3err.New(s3err.BadRequest, "invalid Access-Control-Request-Method: %s", method)
	}
	return nil
}

// SetPreflight writes the answer headers of a preflight that rule allows
// (asked: the headers the preflight asked for, lower-case).
func SetPreflight(h http.Header, rule *client.CORSRule, origin string, asked []string) {
	SetHeaders(h, rule, origin)
	if len(asked) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(asked, ", "))
	}
	h.Set("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
	h.Set("Content-Length", "0")
}
