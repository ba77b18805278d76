package bench

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReportTableAndChart(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, v any) {
		b, _ := json.Marshal(v)
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	write("baseline.json", Baseline{Disk: []DiskResult{{Size: 1 << 20, WriteMiBPerSec: 400, ReadMiBPerSec: 4000}, {Size: 4 << 10, WriteOpsPerSec: 2000, ReadOpsPerSec: 100000}}, TCP: 3000, Hash: map[string]float64{"sha256": 1600}})
	write("put.json", Report{Config: Config{Op: "put", Size: 1 << 20, Concurrency: 16, Duration: time.Second}, Summary: Summary{Ops: 200, OpsPerSec: 200, MiBPerSec: 200, P50Ms: 50, P99Ms: 90}})
	write("get.json", Report{Config: Config{Op: "get", Size: 4 << 10, Concurrency: 16}, Summary: Summary{OpsPerSec: 5000, MiBPerSec: 19.5}})
	write("list.json", Report{Config: Config{Op: "list", Concurrency: 1}, Summary: Summary{Items: 1000, ItemsPerSec: 40000}})
	res, err := LoadResults(dir, "granary")
	if err != nil || res.Baseline == nil || len(res.Runs) != 3 || res.Runs[0].Config.Op != "put" {
		t.Fatalf("load: %+v %v", res, err)
	}
	var md strings.Builder
	WriteMarkdown(&md, []Results{res})
	for _, want := range []string{"| PUT 1MiB | 16 | 200.0 | 200.0 |", "400 MiB/s write+fsync | 0.50×", "100000 files/s read | 0.05×", "| LIST 0B | 1 |", "40000"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, md.String())
		}
	}
	svg := filepath.Join(t.TempDir(), "chart.svg")
	if err := WriteChart(svg, []Results{res, {Label: "other", Runs: res.Runs}}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(svg)
	if !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "Throughput") {
		t.Fatalf("chart is not an SVG with the throughput plot (%d bytes)", len(b))
	}
	// Well-formed XML, with one bar per workload and set in each panel
	// (2 workloads charted, LIST is not; 2 sets; 2 panels) plus the legends.
	dec := xml.NewDecoder(bytes.NewReader(b))
	rects := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			rects++
		}
	}
	if want := 1 + 2*2*2 + 2*2; rects != want {
		t.Fatalf("chart has %d rects, want %d", rects, want)
	}
}
