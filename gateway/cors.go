package gateway

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
)

// corsRuleXML is one CORSRule of S3's CORSConfiguration document.
type corsRuleXML struct {
	ID             string   `xml:"ID,omitempty"`
	AllowedHeaders []string `xml:"AllowedHeader"`
	AllowedMethods []string `xml:"AllowedMethod"`
	AllowedOrigins []string `xml:"AllowedOrigin"`
	ExposeHeaders  []string `xml:"ExposeHeader"`
	MaxAgeSeconds  *int     `xml:"MaxAgeSeconds"`
}

type corsConfigurationXML struct {
	XMLName struct{}      `xml:"CORSConfiguration"`
	NS      string        `xml:"xmlns,attr,omitempty"`
	Rules   []corsRuleXML `xml:"CORSRule"`
}

func (s *Server) getBucketCors(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	if len(b.CORS) == 0 {
		s.writeError(w, r, errorf(ErrNoSuchCORSConfiguration, "the CORS configuration does not exist"))
		return
	}
	doc := corsConfigurationXML{NS: s3NS}
	for _, c := range b.CORS {
		doc.Rules = append(doc.Rules, corsRuleXML{ID: c.ID, AllowedHeaders: c.AllowedHeaders, AllowedMethods: c.AllowedMethods,
			AllowedOrigins: c.AllowedOrigins, ExposeHeaders: c.ExposeHeaders, MaxAgeSeconds: c.MaxAgeSeconds})
	}
	writeXML(w, http.StatusOK, doc)
}

func (s *Server) putBucketCors(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusOK, func(ctx context.Context, bucket string) error {
		rules, err := readCORS(r)
		if err != nil {
			return err
		}
		return s.client.SetBucketCORS(ctx, bucket, rules)
	})
}

func (s *Server) deleteBucketCors(w http.ResponseWriter, r *http.Request) {
	s.setBucketConfig(w, r, http.StatusNoContent, func(ctx context.Context, bucket string) error {
		return s.client.SetBucketCORS(ctx, bucket, nil)
	})
}

// readCORS reads a CORSConfiguration document and checks it as S3 does.
func readCORS(r *http.Request) ([]client.CORSRule, error) {
	var doc corsConfigurationXML
	if err := readConfigBody(r, &doc); err != nil {
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
		return nil, errorf(ErrInvalidRequest, "found unsupported HTTP method in CORS config. Unsupported method is %s", ce.Method)
	case errors.As(err, &ce) && strings.Contains(ce.Why, "wildcard"):
		return nil, errorf(ErrInvalidRequest, "%s", ce.Why)
	}
	return nil, malformedXML()
}

// corsMatch finds the first rule that allows origin to make a request
// with method and, for a preflight, the headers asked for.
func corsMatch(rules []client.CORSRule, origin, method string, headers []string) *client.CORSRule {
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

// requestedHeaders splits Access-Control-Request-Headers, lowercased.
func requestedHeaders(v string) []string {
	var out []string
	for _, h := range strings.Split(v, ",") {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// setCORS writes the headers a matching rule grants.
func setCORS(h http.Header, c *client.CORSRule, origin string) {
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

var corsForbidden = "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."

// preflight answers a CORS preflight (OPTIONS) on a bucket or object from
// the bucket's first matching rule. It needs no signature: browsers send
// none.
func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	origin, method := r.Header.Get("Origin"), r.Header.Get("Access-Control-Request-Method")
	switch {
	case origin == "":
		s.writeError(w, r, errorf(ErrBadRequest, "insufficient information. Origin request header needed."))
		return
	case method == "":
		s.writeError(w, r, errorf(ErrBadRequest, "insufficient information. Access-Control-Request-Method request header needed."))
		return
	case !proto.ValidCORSMethod(method):
		s.writeError(w, r, errorf(ErrBadRequest, "invalid Access-Control-Request-Method: %s", method))
		return
	}
	name := mux.Vars(r)["bucket"]
	if proto.ValidBucketName(name) != nil {
		s.writeError(w, r, errorf(ErrAccessForbidden, "CORSResponse: Bucket not found"))
		return
	}
	b, err := s.client.Bucket(r.Context(), name)
	switch {
	case errors.Is(err, client.ErrNoSuchBucket):
		s.writeError(w, r, errorf(ErrAccessForbidden, "CORSResponse: Bucket not found"))
		return
	case err != nil:
		s.writeError(w, r, err)
		return
	case len(b.CORS) == 0:
		s.writeError(w, r, errorf(ErrAccessForbidden, "CORSResponse: CORS is not enabled for this bucket."))
		return
	}
	asked := requestedHeaders(r.Header.Get("Access-Control-Request-Headers"))
	rule := corsMatch(b.CORS, origin, method, asked)
	if rule == nil {
		s.writeError(w, r, errorf(ErrAccessForbidden, "%s", corsForbidden))
		return
	}
	h := w.Header()
	setCORS(h, rule, origin)
	if len(asked) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(asked, ", "))
	}
	h.Set("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// corsHeaders adds, to an actual request from a browser (one with an
// Origin header) on a bucket or object, the headers of the bucket's first
// rule that allows its origin and method; with no such rule, none.
func (s *Server) corsHeaders(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	name := mux.Vars(r)["bucket"]
	if origin == "" || proto.ValidBucketName(name) != nil {
		return
	}
	b, err := s.client.Bucket(r.Context(), name)
	if err != nil || len(b.CORS) == 0 {
		return // the handler reports a missing bucket or an unreachable cluster
	}
	if rule := corsMatch(b.CORS, origin, r.Method, nil); rule != nil {
		setCORS(w.Header(), rule, origin)
		w.Header().Set("Vary", "Origin")
	}
}
