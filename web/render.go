package web

import (
	"fmt"
	"html/template"
	"io/fs"
	"strings"
	"time"

	"github.com/granary-store/granary/client"
)

// parsePages parses the layout with each page's templates; a page file
// defines "main" (the whole page body) and "live" (the part that the
// script re-fetches; the layout wraps it).
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: list templates: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", n, err)
		}
		pages[name] = t
	}
	return pages, nil
}

var funcs = template.FuncMap{
	"bytes": humanBytes,
	"sub":   func(a, b int64) int64 { return a - b },
	"int64": func(x float64) int64 { return int64(x) },
	"rate":  perSecond,
	"sum": func(xs [5]int64) int64 {
		var n int64
		for _, x := range xs {
			n += x
		}
		return n
	},
	"pct": func(used, capacity int64) string {
		if capacity <= 0 {
			return "—"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(used)/float64(capacity))
	},
	"clock": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("15:04:05")
	},
	"stamp": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"ago": func(now, t time.Time) string {
		if t.IsZero() {
			return "not seen since the dashboard started"
		}
		return now.Sub(t).Round(time.Second).String() + " ago"
	},
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04")
	},
	"stateClass": func(state string) string {
		switch state {
		case "alive", "leader", "follower":
			return levelOK
		case "dead", "unreachable":
			return levelBad
		}
		return levelWarn
	},
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// bar draws a used/capacity bar as inline SVG (no style attribute: the
// CSP forbids inline styles; the colours come from classes).
func bar(used, capacity int64, w, h int) template.HTML {
	fill := 0
	if capacity > 0 {
		fill = int(float64(w) * min(1, float64(used)/float64(capacity)))
	}
	cls := "bar-ok"
	if capacity > 0 && float64(used) > 0.9*float64(capacity) {
		cls = "bar-full"
	}
	return template.HTML(fmt.Sprintf(`<svg class="bar" width="%d" height="%d" viewBox="0 0 %d %d" preserveAspectRatio="none" aria-hidden="true"><rect class="bar-bg" width="%d" height="%d"/><rect class="%s" width="%d" height="%d"/></svg>`,
		w, h, w, h, w, h, cls, fill, h))
}

// repairChart draws the history of under-replicated chunks and queued
// copies as two polylines over the samples' time span. Only numbers go
// into the markup.
func repairChart(h []sample) template.HTML {
	const w, ht, pad = 600, 120, 4
	if len(h) < 2 {
		return template.HTML(`<p class="muted">The chart fills in as the dashboard watches the cluster.</p>`)
	}
	t0, t1 := h[0].At, h[len(h)-1].At
	span := max(t1.Sub(t0).Seconds(), 1)
	top := 1
	for _, s := range h {
		top = max(top, s.UnderReplicated, s.Queued)
	}
	line := func(val func(sample) int) string {
		var b strings.Builder
		for _, s := range h {
			x := pad + (w-2*pad)*s.At.Sub(t0).Seconds()/span
			y := float64(ht-pad) - float64(ht-2*pad)*float64(val(s))/float64(top)
			fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
		}
		return b.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="Under-replicated chunks (peak %d) and queued copies over the last %s">`, w, ht, w, ht, top, time.Duration(span*float64(time.Second)).Round(time.Second))
	fmt.Fprintf(&b, `<rect class="chart-bg" width="%d" height="%d"/>`, w, ht)
	fmt.Fprintf(&b, `<polyline class="line-queued" points="%s"/>`, line(func(s sample) int { return s.Queued }))
	fmt.Fprintf(&b, `<polyline class="line-under" points="%s"/>`, line(func(s sample) int { return s.UnderReplicated }))
	fmt.Fprintf(&b, `<text class="chart-label" x="%d" y="14">%d</text></svg>`, pad+2, top)
	return template.HTML(b.String())
}

// redundancyBar draws the chunks by remaining redundancy as one stacked
// bar: full margin, reduced (under-replicated), none (no live replica).
func redundancyBar(c client.ChunkCounts, w, h int) template.HTML {
	full := max(c.Total-c.UnderReplicated-c.Degraded-c.Missing, 0)
	total := max(full+c.UnderReplicated+c.Degraded+c.Missing, 1)
	reduced := max(c.UnderReplicated-c.LastCopy, 0) + c.Degraded // a degraded stripe has lost some margin
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="bar" width="%d" height="%d" viewBox="0 0 %d %d" preserveAspectRatio="none" aria-hidden="true"><rect class="bar-bg" width="%d" height="%d"/>`, w, h, w, h, w, h)
	x := 0.0
	for _, part := range []struct {
		n   int
		cls string
	}{{full, "seg-full"}, {reduced, "seg-reduced"}, {c.LastCopy, "seg-last"}, {c.Missing, "seg-none"}} {
		pw := float64(w) * float64(part.n) / float64(total)
		fmt.Fprintf(&b, `<rect class="%s" x="%.1f" width="%.1f" height="%d"/>`, part.cls, x, pw, h)
		x += pw
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
