package proto

import (
	"errors"
	"strings"
	"testing"
)

func TestValidBucketName(t *testing.T) {
	good := []string{"abc", "my-bucket", "my.bucket.01", "0ab", strings.Repeat("a", 63), "a-b.c-d", "1.2.3"}
	bad := []string{"", "ab", strings.Repeat("a", 64), "ABC", "a_b", "-ab", "ab-", ".ab", "ab.", "a..b",
		"192.168.1.1", "xn--abc", "sthree-x", "abc-s3alias", "abc--ol-s3", "a.-b", "a-.b", "abc--x-s3", "abc.mrap", "amzn-s3-demo-x", "a b", "ab/c", "é-bucket", "abc\x00"}
	for _, n := range good {
		if err := ValidBucketName(n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for _, n := range bad {
		if err := ValidBucketName(n); !errors.Is(err, ErrInvalidName) {
			t.Errorf("%q accepted", n)
		}
	}
}

func TestValidKey(t *testing.T) {
	good := []string{"a", "a/b", "a//b", "trailing/", "../x", " spaces ", "+%#?", "🙂", strings.Repeat("k", MaxKeyLen)}
	bad := []string{"", strings.Repeat("k", MaxKeyLen+1), "a\xffb", "nul\x00"}
	for _, k := range good {
		if err := ValidKey(k); err != nil {
			t.Errorf("%q: %v", k, err)
		}
	}
	for _, k := range bad {
		if err := ValidKey(k); !errors.Is(err, ErrInvalidName) {
			t.Errorf("%q accepted", k)
		}
	}
}

func TestValidID(t *testing.T) {
	for _, id := range []string{"m1", "cs-1", "rack_A.2"} {
		if err := ValidID("node", id); err != nil {
			t.Errorf("%q: %v", id, err)
		}
	}
	for _, id := range []string{"", "a b", "../x", "a/b", strings.Repeat("x", MaxNodeIDLen+1)} {
		if err := ValidID("node", id); !errors.Is(err, ErrInvalidName) {
			t.Errorf("%q accepted", id)
		}
	}
}
