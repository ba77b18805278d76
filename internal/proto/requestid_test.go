package proto

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRequestIDRoundTrip(t *testing.T) {
	now := time.UnixMilli(1_795_000_000_123)
	a, b := NewRequestID(now), NewRequestID(now)
	if a == b {
		t.Fatalf("two ids issued at one time are equal: %s", a)
	}
	got, err := ParseRequestID(a)
	if err != nil || !got.Equal(now) {
		t.Fatalf("ParseRequestID(%q) = %v, %v; want %v", a, got, err, now)
	}
	for _, bad := range []string{
		"", "x", a[:len(a)-1], a + "0", strings.ToUpper(a), strings.Replace(a, "-", "_", 1),
		"zzzzzzzzzzzz-" + a[13:], a[:13] + strings.Repeat("g", 32), "../../etc/passwd",
	} {
		if _, err := ParseRequestID(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ParseRequestID(%q) = %v, want ErrInvalidName", bad, err)
		}
	}
}
