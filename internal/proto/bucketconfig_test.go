package proto

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestTagsEncodeParseAndRules(t *testing.T) {
	tags := map[string]string{"b": "two words", "a": "x=y&z", "ü": ""}
	s := EncodeTags(tags)
	back, err := ParseTags(s)
	if err != nil || !maps.Equal(back, tags) || !strings.HasPrefix(s, "a=") {
		t.Fatalf("round trip %q: %v %v", s, back, err)
	}
	if EncodeTags(nil) != "" {
		t.Fatal("no tags must encode to nothing")
	}
	var te *TagError
	if _, err := ParseTags("a=1&a=2"); !errors.As(err, &te) || !te.Duplicate {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := ParseTags("a=%zz"); err == nil || errors.As(err, &te) {
		t.Fatalf("bad escape: %v", err)
	}
	for _, c := range []struct {
		tags  map[string]string
		limit int
		check func(*TagError) bool
	}{
		{map[string]string{"a": "1", "b": "2"}, 1, func(e *TagError) bool { return e.TooMany }},
		{map[string]string{"": "1"}, 10, func(e *TagError) bool { return !e.Value && !e.TooMany }},
		{map[string]string{strings.Repeat("k", 129): ""}, 10, func(e *TagError) bool { return !e.Value }},
		{map[string]string{"k": strings.Repeat("v", 257)}, 10, func(e *TagError) bool { return e.Value }},
		{map[string]string{"k": "a|b"}, 10, func(e *TagError) bool { return e.Value }},
		{map[string]string{"AWS:x": "1"}, 10, func(e *TagError) bool { return e.System }},
		{map[string]string{"k": "bad\xff"}, 10, func(e *TagError) bool { return e.Value }},
	} {
		if err := ValidTags(c.tags, c.limit); !errors.As(err, &te) || !c.check(te) || !errors.Is(err, ErrInvalidName) {
			t.Errorf("%v: %v", c.tags, err)
		}
	}
	ok := map[string]string{strings.Repeat("ключ", 32): strings.Repeat("é", 256), "+-=._:/@ ": ""}
	if err := ValidTags(ok, 10); err != nil {
		t.Fatalf("valid tags refused: %v", err)
	}
}

func TestCORSRulesAndWildcards(t *testing.T) {
	age := -1
	for name, rules := range map[string][]CORSRule{
		"none":          nil,
		"no method":     {{AllowedOrigins: []string{"*"}}},
		"bad method":    {{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"OPTIONS"}}},
		"two wildcards": {{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}, AllowedHeaders: []string{"x-*-*"}}},
		"negative age":  {{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"GET"}, MaxAgeSeconds: &age}},
		"101 rules":     make([]CORSRule, 101),
	} {
		if err := ValidCORS(rules); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := ValidCORS([]CORSRule{{AllowedOrigins: []string{"https://*.example.com"}, AllowedMethods: []string{"GET", "PUT", "POST", "DELETE", "HEAD"}}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "anything", true}, {"https://*.example.com", "https://a.example.com", true},
		{"https://*.example.com", "https://example.com", false}, {"http://a", "http://a", true},
		{"http://a", "http://b", false}, {"x-amz-*", "x-amz-date", true}, {"ab*ba", "aba", false},
	} {
		if got := WildcardMatch(c.pattern, c.s); got != c.want {
			t.Errorf("WildcardMatch(%q, %q) = %v", c.pattern, c.s, got)
		}
	}
}
