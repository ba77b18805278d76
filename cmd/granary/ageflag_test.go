package main

import (
	"testing"
	"time"
)

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
		got, err := parseAge(c.in, c.def)
		if (err != nil) != c.invalid || !c.invalid && got != c.want {
			t.Errorf("parseAge(%q, %v) = %v, %v", c.in, c.def, got, err)
		}
	}
	var d time.Duration
	if f := (ageFlag{d: &d}); f.Set("14d") != nil || f.String() != "14d" {
		t.Errorf("14d reads back as %q", f.String())
	}
}
