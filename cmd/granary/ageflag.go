package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/granary-store/granary/master"
)

// ageFlag parses an age: a Go duration (36h, 90m) or whole days (7d).
// With allowDefault, "default" sets -1 (the cluster's setting applies).
type ageFlag struct {
	d            *time.Duration
	set          *bool
	allowDefault bool
}

func (a ageFlag) String() string {
	if a.d == nil || *a.d == 0 {
		return "0"
	}
	if *a.d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", *a.d/(24*time.Hour))
	}
	return a.d.String()
}

func (a ageFlag) Set(v string) error {
	d, err := parseAge(v, a.allowDefault)
	if err != nil {
		return err
	}
	*a.d = d
	if a.set != nil {
		*a.set = true
	}
	return nil
}

func parseAge(v string, allowDefault bool) (time.Duration, error) {
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

// convertFlags registers the background conversion's flags of granary
// master and granary server.
func convertFlags(fs *flag.FlagSet, cfg *master.Config) {
	fs.Var(ageFlag{d: &cfg.ConvertAfter}, "convert-after", "convert replicated objects older than this (7d, 36h) to erasure coding in the background (0: off; buckets may set their own with admin set-policy --convert-after)")
	fs.StringVar(&cfg.ConvertPolicy, "convert-policy", "", "the rs-K-M policy --convert-after converts to (default: the bucket's or the cluster's --policy when it is rs-K-M)")
	fs.Var(sizeFlag{&cfg.ConvertBandwidth}, "convert-bandwidth", "bytes per second the background conversion reads at most (KiB, MiB, GiB; 0: no bound)")
}
