package proto

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// ErrInvalidName is wrapped by every naming-rule violation.
var ErrInvalidName = errors.New("invalid name")

// ValidBucketName checks S3's bucket naming rules: 3 to 63 characters of
// lowercase letters, digits, dots and hyphens; starting and ending with a
// letter or digit; no two adjacent dots and no dot next to a hyphen; not shaped like an IPv4 address;
// none of the prefixes and suffixes S3 reserves.
func ValidBucketName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("bucket name %q: %s: %w", truncate(name), why, ErrInvalidName)
	}
	if len(name) < 3 || len(name) > 63 {
		return bad("must be 3 to 63 characters long")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return bad("only lowercase letters, digits, '.' and '-' are allowed")
		}
	}
	if !alnum(name[0]) || !alnum(name[len(name)-1]) {
		return bad("must start and end with a letter or digit")
	}
	if strings.Contains(name, "..") {
		return bad("must not contain two adjacent periods")
	}
	if strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return bad("must not have a period next to a hyphen")
	}
	if addr, err := netip.ParseAddr(name); err == nil && addr.Is4() {
		return bad("must not be formatted as an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return bad("must not start with " + p)
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", "--x-s3", ".mrap", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return bad("must not end with " + s)
		}
	}
	return nil
}

// ValidKey checks an object key: 1 to MaxKeyLen bytes of valid UTF-8 with no
// NUL byte. Keys are otherwise opaque; '/' separates directories.
func ValidKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("object key is empty: %w", ErrInvalidName)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("object key is %d bytes, the limit is %d: %w", len(key), MaxKeyLen, ErrInvalidName)
	case !utf8.ValidString(key):
		return fmt.Errorf("object key %q is not valid UTF-8: %w", truncate(key), ErrInvalidName)
	case strings.IndexByte(key, 0) >= 0:
		return fmt.Errorf("object key %q contains a NUL byte: %w", truncate(key), ErrInvalidName)
	}
	return nil
}

// ValidID checks a node or user id: 1 to MaxNodeIDLen characters of letters,
// digits, '-', '_' and '.'. It takes a NodeID as well as a plain string.
func ValidID[S ~string](kind string, sid S) error {
	id := string(sid)
	if id == "" || len(id) > MaxNodeIDLen {
		return fmt.Errorf("%s id %q must be 1 to %d characters: %w", kind, truncate(id), MaxNodeIDLen, ErrInvalidName)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(alnum(c) || c >= 'A' && c <= 'Z' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("%s id %q: only letters, digits, '-', '_' and '.' are allowed: %w", kind, truncate(id), ErrInvalidName)
		}
	}
	return nil
}

func alnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
