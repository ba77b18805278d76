package bench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Results is one labelled set of runs with the baseline measured beside
// them.
type Results struct {
	Label    string
	Baseline *Baseline
	Runs     []Report
}

// LoadResults reads baseline.json and every other *.json report in dir.
func LoadResults(dir, label string) (Results, error) {
	res := Results{Label: label}
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return res, err
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return res, err
		}
		if filepath.Base(f) == "baseline.json" {
			res.Baseline = &Baseline{}
			if err := json.Unmarshal(raw, res.Baseline); err != nil {
				return res, fmt.Errorf("bench: %s: %w", f, err)
			}
			continue
		}
		var r Report
		if err := json.Unmarshal(raw, &r); err != nil {
			return res, fmt.Errorf("bench: %s: %w", f, err)
		}
		res.Runs = append(res.Runs, r)
	}
	slices.SortFunc(res.Runs, func(a, b Report) int {
		return cmp.Or(cmp.Compare(opOrder(a.Config.Op), opOrder(b.Config.Op)), cmp.Compare(a.Config.Size, b.Config.Size))
	})
	return res, nil
}

func opOrder(op string) int { return slices.Index(Ops, op) }

// name labels a run in tables and charts.
func name(r Report) string { return strings.ToUpper(r.Config.Op) + " " + FormatSize(r.Config.Size) }

// ratio compares a run with the machine's own speed for the same work:
// writes with fsynced file writes, reads with file reads, small objects by
// operations per second and larger ones by bytes per second. It returns
// the baseline it used, formatted, and the ratio (0 when none applies).
func ratio(r Report, b *Baseline) (string, float64) {
	if b == nil || r.Config.Op == "list" || r.Config.Op == "delete" {
		return "—", 0
	}
	for _, d := range b.Disk {
		if d.Size != r.Config.Size {
			continue
		}
		write := r.Config.Op == "put"
		base, unit, got := d.ReadMiBPerSec, "MiB/s read", r.Summary.MiBPerSec
		if write {
			base, unit = d.WriteMiBPerSec, "MiB/s write+fsync"
		}
		if r.Config.Size < 64<<10 {
			base, unit, got = d.ReadOpsPerSec, "files/s read", r.Summary.OpsPerSec
			if write {
				base, unit = d.WriteOpsPerSec, "files/s write+fsync"
			}
		}
		if base > 0 {
			return fmt.Sprintf("%.0f %s", base, unit), got / base
		}
	}
	return "—", 0
}

// WriteMarkdown writes the results table of one or more result sets.
func WriteMarkdown(w io.Writer, sets []Results) {
	for _, s := range sets {
		fmt.Fprintf(w, "### %s\n\n", s.Label)
		if b := s.Baseline; b != nil {
			fmt.Fprintf(w, "Baseline on this machine (same run): loopback TCP %.0f MiB/s; one core hashes CRC32C %.0f, MD5 %.0f, SHA-256 %.0f MiB/s.\n\n",
				b.TCP, b.Hash["crc32c"], b.Hash["md5"], b.Hash["sha256"])
		}
		fmt.Fprintln(w, "| workload | concurrency | ops/s | MiB/s | keys/s | p50 ms | p99 ms | errors | baseline | ratio |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
		for _, r := range s.Runs {
			base, x := ratio(r, s.Baseline)
			rs := "—"
			if x > 0 {
				rs = fmt.Sprintf("%.2f×", x)
			}
			keys := "—"
			if r.Summary.Items > 0 {
				keys = fmt.Sprintf("%.0f", r.Summary.ItemsPerSec)
			}
			sm := r.Summary
			fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | %s | %.2f | %.2f | %d | %s | %s |\n",
				name(r), r.Config.Concurrency, sm.OpsPerSec, sm.MiBPerSec, keys, sm.P50Ms, sm.P99Ms, sm.Errors, base, rs)
		}
		fmt.Fprintln(w)
	}
}

// WriteChart draws throughput (MiB/s) and p99 latency per workload, one
// bar series per result set, as one SVG file.
func WriteChart(path string, sets []Results) error {
	var names []string
	for _, s := range sets {
		for _, r := range s.Runs {
			if n := name(r); !slices.Contains(names, n) && r.Config.Op != "list" {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("bench: no runs to chart")
	}
	series := make([]chartSeries, len(sets))
	for i, s := range sets {
		series[i] = chartSeries{label: s.Label, thr: make([]float64, len(names)), lat: make([]float64, len(names))}
		for _, r := range s.Runs {
			if j := slices.Index(names, name(r)); j >= 0 {
				series[i].thr[j], series[i].lat[j] = r.Summary.MiBPerSec, r.Summary.P99Ms
			}
		}
	}
	var b strings.Builder
	writeChartSVG(&b, names, series)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
