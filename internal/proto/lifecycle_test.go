package proto

import (
	"errors"
	"testing"
)

func TestLifecycleRuleMatches(t *testing.T) {
	p, gt, lt := "logs/", int64(10), int64(100)
	rules := map[string]LifecycleRule{
		"all":    {Filter: &LifecycleFilter{}},
		"legacy": {Prefix: &p},
		"prefix": {Filter: &LifecycleFilter{Prefix: &p}},
		"tag":    {Filter: &LifecycleFilter{Tag: &Tag{Key: "k", Value: "v"}}},
		"size":   {Filter: &LifecycleFilter{ObjectSizeGreaterThan: &gt}},
		"and": {Filter: &LifecycleFilter{And: &LifecycleAnd{Prefix: &p, Tags: []Tag{{Key: "k", Value: "v"}, {Key: "x", Value: ""}},
			ObjectSizeGreaterThan: &gt, ObjectSizeLessThan: &lt}}},
	}
	for _, c := range []struct {
		rule, key string
		size      int64
		tagging   string
		want      bool
	}{
		{"all", "anything", 0, "", true},
		{"legacy", "logs/a", 0, "", true},
		{"legacy", "log", 0, "", false},
		{"prefix", "logs/a", 0, "", true},
		{"prefix", "other", 0, "", false},
		{"tag", "a", 0, "k=v&z=1", true},
		{"tag", "a", 0, "k=w", false},
		{"tag", "a", 0, "", false},
		{"size", "a", 10, "", false},
		{"size", "a", 11, "", true},
		{"and", "logs/a", 50, "k=v&x=", true},
		{"and", "logs/a", 50, "k=v", false},
		{"and", "logs/a", 100, "k=v&x=", false},
		{"and", "a", 50, "k=v&x=", false},
	} {
		r := rules[c.rule]
		if got := r.Matches(c.key, c.size, c.tagging); got != c.want {
			t.Errorf("%s matches %q (%d bytes, tags %q) = %v, want %v", c.rule, c.key, c.size, c.tagging, got, c.want)
		}
	}
}

func TestValidLifecycleKinds(t *testing.T) {
	one, zero := 1, 0
	yes := true
	tag := &Tag{Key: "k", Value: "v"}
	for _, c := range []struct {
		name string
		rule LifecycleRule
		want LifecycleErrorKind
		ok   bool
	}{
		{"days", LifecycleRule{Status: "Enabled", Filter: &LifecycleFilter{}, Expiration: &LifecycleExpiration{Days: &one}}, 0, true},
		{"date only", LifecycleRule{Status: "Enabled", Filter: &LifecycleFilter{}, Expiration: &LifecycleExpiration{Date: "2031-01-01"}}, 0, true},
		{"marker", LifecycleRule{Status: "Disabled", Filter: &LifecycleFilter{}, Expiration: &LifecycleExpiration{ExpiredObjectDeleteMarker: &yes}}, 0, true},
		{"zero days", LifecycleRule{Status: "Enabled", Filter: &LifecycleFilter{}, Expiration: &LifecycleExpiration{Days: &zero}}, LifecycleInvalidArgument, false},
		{"no action", LifecycleRule{Status: "Enabled", Filter: &LifecycleFilter{}}, LifecycleInvalidRequest, false},
		{"status", LifecycleRule{Status: "enabled", Filter: &LifecycleFilter{}, Expiration: &LifecycleExpiration{Days: &one}}, LifecycleMalformed, false},
		{"abort with tag", LifecycleRule{Status: "Enabled", Filter: &LifecycleFilter{Tag: tag},
			AbortIncompleteMultipartUpload: &AbortIncompleteUpload{DaysAfterInitiation: &one}}, LifecycleInvalidRequest, false},
	} {
		err := ValidLifecycle([]LifecycleRule{c.rule})
		var le *LifecycleError
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !c.ok && (!errors.As(err, &le) || le.Kind != c.want || !errors.Is(err, ErrInvalidName)):
			t.Errorf("%s: %v, want kind %d", c.name, err, c.want)
		}
	}
}
