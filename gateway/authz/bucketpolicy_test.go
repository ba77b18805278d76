package authz

import (
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadPolicyAndResources(t *testing.T) {
	doc := `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":["arn:aws:s3:::site/*","arn:aws:s3:::site"]}]}`
	raw, p, err := ReadPolicy(httptest.NewRequest("PUT", "/site?policy", strings.NewReader(doc)))
	if err != nil || string(raw) != doc || !p.IsPublic() {
		t.Fatalf("%s %v %v", raw, p, err)
	}
	if err := CheckResources(raw, "site"); err != nil {
		t.Errorf("own resources: %v", err)
	}
	if err := CheckResources(raw, "other"); err == nil {
		t.Errorf("another bucket's policy was accepted")
	}
	one := `{"Statement":{"Effect":"Deny","Principal":"*","NotResource":"arn:aws:s3:::sites/x","Action":"s3:*"}}`
	if err := CheckResources([]byte(one), "site"); err == nil {
		t.Errorf("a resource of bucket sites was accepted for site")
	}
	for _, body := range []string{"", "{", strings.Repeat(" ", 21<<10)} {
		if _, _, err := ReadPolicy(httptest.NewRequest("PUT", "/site?policy", strings.NewReader(body))); err == nil {
			t.Errorf("policy %.10q accepted", body)
		}
	}
}
