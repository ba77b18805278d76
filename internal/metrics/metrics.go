// Package metrics writes the Prometheus text exposition format. The
// mount builds a fresh Set per scrape from its own state: no global
// registry, no background collection. The master and chunk servers use
// prometheus/client_golang instead; the mount is to move to it too, and
// then this package goes.
package metrics

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Set is one scrape's worth of metric families.
type Set struct {
	families []family
}

type family struct {
	name, help, kind string
	samples          []sample
}

type sample struct {
	labels string
	value  float64
}

// Gauge adds a gauge sample; labels alternate names and values.
func (s *Set) Gauge(name, help string, value float64, labels ...string) {
	s.add(name, help, "gauge", value, labels)
}

// Counter adds a counter sample; labels alternate names and values.
func (s *Set) Counter(name, help string, value float64, labels ...string) {
	s.add(name, help, "counter", value, labels)
}

func (s *Set) add(name, help, kind string, value float64, labels []string) {
	i := slices.IndexFunc(s.families, func(f family) bool { return f.name == name })
	if i < 0 {
		s.families = append(s.families, family{name: name, help: help, kind: kind})
		i = len(s.families) - 1
	}
	s.families[i].samples = append(s.families[i].samples, sample{labels: formatLabels(labels), value: value})
}

func formatLabels(kv []string) string {
	if len(kv) == 0 {
		return ""
	}
	parts := make([]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+"="+strconv.Quote(kv[i+1]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// WriteTo writes the exposition.
func (s *Set) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	for _, f := range s.families {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.name, f.help, f.name, f.kind)
		for _, smp := range f.samples {
			fmt.Fprintf(&b, "%s%s %s\n", f.name, smp.labels, strconv.FormatFloat(smp.value, 'g', -1, 64))
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// Handler serves the Set that collect builds on every scrape.
func Handler(collect func(*Set)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		var s Set
		collect(&s)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.WriteTo(w)
	})
}
