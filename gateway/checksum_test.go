package gateway

import "testing"

func TestChecksumTypeDefaults(t *testing.T) {
	for _, c := range []struct{ alg, typ, want string }{
		{"CRC32", "", "COMPOSITE"}, {"CRC32", "FULL_OBJECT", "FULL_OBJECT"}, {"CRC64NVME", "", "FULL_OBJECT"},
		{"SHA256", "", "COMPOSITE"}, {"CRC64NVME", "COMPOSITE", "error"}, {"SHA1", "FULL_OBJECT", "error"},
		{"", "COMPOSITE", "error"}, {"MD5", "", "COMPOSITE"}, {"SHA512", "FULL_OBJECT", "error"}, {"CRC32", "PARTIAL", "error"}, {"", "", ""},
	} {
		got, err := checksumTypeFor(c.alg, c.typ)
		if err != nil {
			got = "error"
		}
		if got != c.want {
			t.Errorf("%s %s: %s, want %s", c.alg, c.typ, got, c.want)
		}
	}
}
