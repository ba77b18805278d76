package s3xml

import (
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/granary-store/granary/gateway/s3err"
)

func code(err error) string {
	var se *s3err.Error
	if errors.As(err, &se) {
		return se.Code
	}
	if err != nil {
		return "other"
	}
	return ""
}

func TestReadConfig(t *testing.T) {
	doc := `<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>`
	sum := md5.Sum([]byte(doc))
	for _, c := range []struct {
		name, body, md5, want string
	}{
		{"plain", doc, "", ""},
		{"with its MD5", doc, base64.StdEncoding.EncodeToString(sum[:]), ""},
		{"wrong MD5", doc, base64.StdEncoding.EncodeToString(make([]byte, 16)), "BadDigest"},
		{"bad MD5", doc, "xyz", "InvalidDigest"},
		{"empty", "", "", "MalformedXML"},
		{"another document", `<Tagging/>`, "", "MalformedXML"},
		{"too large", strings.Repeat(" ", MaxConfigBody+1), "", "MalformedXML"},
	} {
		r := httptest.NewRequest("PUT", "/b?versioning", strings.NewReader(c.body))
		if c.md5 != "" {
			r.Header.Set("Content-MD5", c.md5)
		}
		var v VersioningConfiguration
		if err := ReadConfig(r, &v); code(err) != c.want || err == nil && v.Status != "Enabled" {
			t.Errorf("%s: %v %+v, want %q", c.name, err, v, c.want)
		}
	}
}

func TestCreateBucketAndPages(t *testing.T) {
	create := func(body, region string) error {
		return ReadCreateBucket(httptest.NewRequest("PUT", "/b", strings.NewReader(body)), region)
	}
	loc := func(l string) string {
		return `<CreateBucketConfiguration><LocationConstraint>` + l + `</LocationConstraint></CreateBucketConfiguration>`
	}
	for _, c := range []struct{ body, region, want string }{
		{"", "us-east-1", ""},
		{loc("eu-west-1"), "eu-west-1", ""},
		{loc("us-east-1"), "us-east-1", "InvalidLocationConstraint"},
		{loc("eu-west-1"), "us-east-1", "IllegalLocationConstraintException"},
		{"<Create", "us-east-1", "MalformedXML"},
	} {
		if err := create(c.body, c.region); code(err) != c.want {
			t.Errorf("%q in %s: %v, want %q", c.body, c.region, err, c.want)
		}
	}
	for q, want := range map[string]string{"": "1000 ", "max-keys=5&encoding-type=url": "5 url", "max-keys=5000": "1000 ", "max-keys=-1": "error", "encoding-type=gzip": "error"} {
		v, _ := url.ParseQuery(q)
		max, enc, err := PageParams(v, "max-keys")
		got := fmt.Sprintf("%d %s", max, enc)
		if err != nil {
			got = "error"
		}
		if got != want {
			t.Errorf("%q: %q, want %q", q, got, want)
		}
	}
	if URLEncode("a b+c/é") != "a%20b%2Bc%2F%C3%A9" {
		t.Errorf("URLEncode: %s", URLEncode("a b+c/é"))
	}
}
