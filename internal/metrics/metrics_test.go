package metrics

import (
	"strings"
	"testing"
)

func TestExposition(t *testing.T) {
	var s Set
	s.Gauge("g_chunks", "Chunks by state.", 3, "state", "total")
	s.Gauge("g_chunks", "Chunks by state.", 1, "state", `we"ird`)
	s.Counter("g_copies_total", "Copies.", 42)
	var b strings.Builder
	s.WriteTo(&b)
	want := `# HELP g_chunks Chunks by state.
# TYPE g_chunks gauge
g_chunks{state="total"} 3
g_chunks{state="we\"ird"} 1
# HELP g_copies_total Copies.
# TYPE g_copies_total counter
g_copies_total 42
`
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}
