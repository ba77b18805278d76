package cliflag

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Size is a flag.Value for a byte count such as 64MiB, 512KiB, 1GiB or
// plain bytes (see ParseSize); N is set.
type Size struct{ N *int64 }

// String formats the size as FormatSize does, so it parses back.
func (s Size) String() string {
	if s.N == nil {
		return ""
	}
	return FormatSize(*s.N)
}

// Set parses v with ParseSize.
func (s Size) Set(v string) error {
	n, err := ParseSize(v)
	if err != nil {
		return err
	}
	*s.N = n
	return nil
}

// FormatSize writes n in the largest binary unit (GiB, MiB, KiB) that
// divides it, else in bytes: 64MiB, 1536B.
func FormatSize(n int64) string {
	for _, u := range []struct {
		s string
		m int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.m && n%u.m == 0 {
			return fmt.Sprintf("%d%s", n/u.m, u.s)
		}
	}
	return fmt.Sprintf("%dB", n)
}

// sizeUnits are the accepted size suffixes, matched without regard to case:
// decimal (KB = 1000) and binary (KiB = 1024) multiples.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"b", 1},
}

// ParseSize parses a size: a whole number of bytes, optionally followed by
// B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of
// 1024), in any case, with or without a space.
func ParseSize(v string) (int64, error) {
	s := strings.TrimSpace(v)
	num, mult := s, int64(1)
	lower := strings.ToLower(s)
	for _, u := range sizeUnits {
		if strings.HasSuffix(lower, u.suffix) {
			num, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	if num == "" {
		return 0, fmt.Errorf("bad size %q: no number (want e.g. 64MiB, 500MB or 4096)", v)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		if strings.IndexFunc(num, func(r rune) bool { return (r < '0' || r > '9') && r != '-' && r != '+' }) >= 0 {
			return 0, fmt.Errorf("bad size %q: want a whole number with an optional unit B, KB, MB, GB, TB, KiB, MiB, GiB or TiB", v)
		}
		return 0, fmt.Errorf("bad size %q: out of range", v)
	}
	if n < 0 {
		return 0, fmt.Errorf("bad size %q: negative", v)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("bad size %q: out of range", v)
	}
	return n * mult, nil
}

// Age is a flag.Value for an age: a Go duration (36h, 90m) or whole days
// (7d). With AllowDefault, "default" sets -1 (the cluster's setting
// applies). D is set, and Given (if not nil) to true.
type Age struct {
	D            *time.Duration
	Given        *bool
	AllowDefault bool
}

// String formats the age in days when it is whole days.
func (a Age) String() string {
	if a.D == nil || *a.D == 0 {
		return "0"
	}
	if *a.D%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", *a.D/(24*time.Hour))
	}
	return a.D.String()
}

// Set parses v with ParseAge.
func (a Age) Set(v string) error {
	d, err := ParseAge(v, a.AllowDefault)
	if err != nil {
		return err
	}
	*a.D = d
	if a.Given != nil {
		*a.Given = true
	}
	return nil
}

// ParseAge parses whole days (7d) or a non-negative Go duration (36h);
// with allowDefault, "default" is -1.
func ParseAge(v string, allowDefault bool) (time.Duration, error) {
	if allowDefault && v == "default" {
		return -1, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 32)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q: want whole days such as 7d, or a duration such as 36h", v)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want whole days such as 7d, or a duration such as 36h", v)
	}
	return d, nil
}

// List is a flag.Value that may be repeated; each use adds a value.
type List struct{ Vals *[]string }

// String joins the values with commas.
func (l List) String() string {
	if l.Vals == nil {
		return ""
	}
	return strings.Join(*l.Vals, ",")
}

// Set adds v.
func (l List) Set(v string) error {
	*l.Vals = append(*l.Vals, v)
	return nil
}

// Repeatable marks List for configuration files: a YAML list sets each item.
func (List) Repeatable() {}
