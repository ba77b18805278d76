package deptest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// notTransport are the files that spell "http://" for something other than
// a call between Granary processes, with the reason.
var notTransport = map[string]string{
	"gateway/s3xml/s3xml.go":   "the S3 XML namespace",
	"gateway/s3hdr/headers.go": "S3's accepted prefixes of a website redirect",
	"internal/bench/chart.go":  "the SVG XML namespace",
	"cmd/granary/bench.go":     "strips the scheme off a user-given S3 endpoint",
	"internal/proto/access.go": "S3 group grantee URIs",
	"gateway/s3acl/acl.go":     "the XML Schema instance namespace of ACL grantees",
}

// TestTransportSeam: how Granary processes call each other (scheme and
// credential) is spelled in internal/rpc only, so TLS and credentials
// change in one place.
func TestTransportSeam(t *testing.T) {
	root := "../.."
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "internal/rpc/") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(src), `"Bearer `) {
			t.Errorf("%s spells a bearer credential: use internal/rpc", rel)
		}
		if strings.Contains(string(src), `"http://`) && notTransport[rel] == "" {
			t.Errorf("%s spells an http:// URL: build peer URLs with internal/rpc", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
