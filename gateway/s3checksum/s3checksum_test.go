package s3checksum

import (
	"errors"
	"net/http"
	"testing"

	"github.com/granary-store/granary/gateway/s3err"
)

func TestChecksumTypeDefaults(t *testing.T) {
	for _, c := range []struct{ alg, typ, want string }{
		{"CRC32", "", "COMPOSITE"}, {"CRC32", "FULL_OBJECT", "FULL_OBJECT"}, {"CRC64NVME", "", "FULL_OBJECT"},
		{"SHA256", "", "COMPOSITE"}, {"CRC64NVME", "COMPOSITE", "error"}, {"SHA1", "FULL_OBJECT", "error"},
		{"", "COMPOSITE", "error"}, {"MD5", "", "COMPOSITE"}, {"SHA512", "FULL_OBJECT", "error"}, {"CRC32", "PARTIAL", "error"}, {"", "", ""},
	} {
		got, err := TypeFor(c.alg, c.typ)
		if err != nil {
			got = "error"
		}
		if got != c.want {
			t.Errorf("%s %s: %s, want %s", c.alg, c.typ, got, c.want)
		}
	}
}

func TestFromRequest(t *testing.T) {
	crc := "AAAAAA==" // a valid base64 CRC32
	for _, c := range []struct {
		name    string
		h       map[string]string
		alg     string
		value   string
		errCode string
	}{
		{"none", nil, "", "", ""},
		{"header", map[string]string{"X-Amz-Checksum-Crc32": crc}, "CRC32", crc, ""},
		{"trailer", map[string]string{"X-Amz-Trailer": "x-amz-checksum-crc32c"}, "CRC32C", "", ""},
		{"sdk algorithm", map[string]string{"X-Amz-Sdk-Checksum-Algorithm": "sha256"}, "SHA256", "", ""},
		{"two", map[string]string{"X-Amz-Checksum-Crc32": crc, "X-Amz-Trailer": "x-amz-checksum-crc32c"}, "", "", "InvalidRequest"},
		{"bad value", map[string]string{"X-Amz-Checksum-Crc32": "nope"}, "", "", "InvalidRequest"},
		{"mismatched algorithm", map[string]string{"X-Amz-Checksum-Crc32": crc, "X-Amz-Checksum-Algorithm": "SHA1"}, "", "", "InvalidRequest"},
		{"unsupported", map[string]string{"X-Amz-Checksum-Xxhash64": "AAAAAAAAAAA="}, "", "", "NotImplemented"},
		{"unknown", map[string]string{"X-Amz-Checksum-Foo": "x"}, "", "", "InvalidRequest"},
	} {
		h := http.Header{}
		for k, v := range c.h {
			h.Set(k, v)
		}
		alg, value, err := FromRequest(h)
		var se *s3err.Error
		switch {
		case c.errCode != "" && (!errors.As(err, &se) || se.Code != c.errCode):
			t.Errorf("%s: error %v, want %s", c.name, err, c.errCode)
		case c.errCode == "" && (err != nil || alg != c.alg || value != c.value):
			t.Errorf("%s: %q %q %v, want %q %q", c.name, alg, value, err, c.alg, c.value)
		}
	}
}

func TestForUpload(t *testing.T) {
	for _, c := range []struct{ alg, typ, want string }{
		{"", "", " "}, {"crc32", "", "CRC32 COMPOSITE"}, {"CRC32", "full_object", "CRC32 FULL_OBJECT"},
		{"XXHASH64", "", "error"}, {"", "COMPOSITE", "error"}, {"CRC64NVME", "COMPOSITE", "error"},
	} {
		h := http.Header{}
		if c.alg != "" {
			h.Set("X-Amz-Checksum-Algorithm", c.alg)
		}
		if c.typ != "" {
			h.Set("X-Amz-Checksum-Type", c.typ)
		}
		alg, typ, err := ForUpload(h)
		got := alg + " " + typ
		if err != nil {
			got = "error"
		}
		if got != c.want {
			t.Errorf("%q %q: %q, want %q", c.alg, c.typ, got, c.want)
		}
	}
}
