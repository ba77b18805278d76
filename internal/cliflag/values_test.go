package cliflag

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSizeFlagRoundTrip(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{{0, "0B"}, {1, "1B"}, {1536, "1536B"}, {4 << 10, "4KiB"}, {64 << 20, "64MiB"}, {3 << 30, "3GiB"}} {
		n := c.n
		got := Size{N: &n}.String()
		if got != c.want {
			t.Errorf("String(%d) = %q, want %q", c.n, got, c.want)
		}
		var back int64
		if err := (Size{N: &back}).Set(got); err != nil || back != c.n {
			t.Errorf("Set(%q) = %d, %v; want %d", got, back, err, c.n)
		}
	}
	var n int64
	if err := (Size{N: &n}).Set("12parsecs"); err == nil {
		t.Error("Set(12parsecs) succeeded")
	}
}

func TestParseSize(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"0", 0}, {"4096", 4096}, {"12B", 12}, {"12b", 12},
		{"1KB", 1000}, {"1kb", 1000}, {"64MB", 64_000_000}, {"2GB", 2_000_000_000}, {"3TB", 3_000_000_000_000},
		{"1KiB", 1024}, {"1kib", 1024}, {"64MiB", 64 << 20}, {"64mib", 64 << 20}, {"2GiB", 2 << 30}, {"3TiB", 3 << 40},
		{"10 GiB", 10 << 30}, {" 5MB ", 5_000_000}, {"8388607TiB", 8388607 << 40},
	} {
		got, err := ParseSize(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"", "no number"}, {"MiB", "no number"}, {"12parsecs", "whole number"}, {"1.5GiB", "whole number"},
		{"-1MiB", "negative"}, {"8388608TiB", "out of range"}, {"99999999999999999999", "out of range"},
		{"64M", "whole number"}, {"0x10", "whole number"},
	} {
		_, err := ParseSize(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), strconv.Quote(c.in)) {
			t.Errorf("ParseSize(%q) error %v; want one naming the input and saying %q", c.in, err, c.want)
		}
	}
}

func TestParseAge(t *testing.T) {
	for _, c := range []struct {
		in      string
		def     bool
		want    time.Duration
		invalid bool
	}{
		{"7d", false, 7 * 24 * time.Hour, false},
		{"0d", false, 0, false},
		{"36h", false, 36 * time.Hour, false},
		{"0", false, 0, false},
		{"default", true, -1, false},
		{"default", false, 0, true},
		{"-1d", false, 0, true},
		{"-5m", false, 0, true},
		{"1.5d", false, 0, true},
		{"d", false, 0, true},
		{"soon", false, 0, true},
	} {
		got, err := ParseAge(c.in, c.def)
		if (err != nil) != c.invalid || !c.invalid && got != c.want {
			t.Errorf("ParseAge(%q, %v) = %v, %v", c.in, c.def, got, err)
		}
	}
	var d time.Duration
	if f := (Age{D: &d}); f.Set("14d") != nil || f.String() != "14d" {
		t.Errorf("14d reads back as %q", f.String())
	}
}
