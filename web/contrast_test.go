package web

import (
	"math"
	"regexp"
	"strconv"
	"testing"
)

// TestStatusColourContrast checks the status colours of the stylesheet
// against WCAG 2 AA (4.5:1 for text): each level's text on its own
// background and on the page, and the page's text, muted text and links.
func TestStatusColourContrast(t *testing.T) {
	css, err := staticFS.ReadFile("static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-fA-F]{6});`).FindAllStringSubmatch(string(css), -1) {
		vars[m[1]] = m[2]
	}
	pairs := [][2]string{{"text", "page-bg"}, {"muted", "page-bg"}, {"link", "page-bg"}}
	for _, l := range []string{"ok", "warn", "risk", "bad", "unknown"} {
		pairs = append(pairs, [2]string{l + "-fg", l + "-bg"}, [2]string{l + "-fg", "page-bg"})
	}
	for _, p := range pairs {
		fg, bg := vars[p[0]], vars[p[1]]
		if fg == "" || bg == "" {
			t.Fatalf("colour --%s or --%s not in style.css", p[0], p[1])
		}
		if r := contrast(fg, bg); r < 4.5 {
			t.Errorf("--%s %s on --%s %s: contrast %.2f < 4.5", p[0], fg, p[1], bg, r)
		}
	}
}

func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

func luminance(hex string) float64 {
	ch := func(i int) float64 {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		c := float64(v) / 255
		if c <= 0.03928 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(0) + 0.7152*ch(1) + 0.0722*ch(2)
}
