// Package deploy_test checks the monitoring files in deploy/ against the
// code: the Prometheus rules (with promtool, and their unit tests) and
// the Grafana dashboard may only use metric names the processes
// register, so renaming a metric fails here rather than in production.
// (The Helm chart's render test is the module in deploy/helm/charttest.)
package deploy_test

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

const (
	rulesFile     = "prometheus/granary-rules.yaml"
	rulesTestFile = "prometheus/granary-rules.test.yaml"
)

// need returns the path of bin, failing the test when it is missing.
func need(t *testing.T, bin string) string {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("%s is not installed; run scripts/ensure-test-deps.sh (make test does)", bin)
	}
	return path
}

// metricDecl finds a metric name where the code declares one: the Name of
// prometheus.*Opts, or the first argument of prometheus.NewDesc or of the
// master's desc helper.
var metricDecl = regexp.MustCompile(`(?:\bName:\s*|\bNewDesc\(\s*|\bdesc\(\s*)"(granary_[a-z0-9_]+)"`)

// knownMetrics returns every metric name a Granary process can export:
// the granary_* families declared in the Go sources outside tests (with
// the _bucket, _sum and _count series of histograms), and what the Go
// runtime and process collectors every process registers gather here.
func knownMetrics(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	root := ".."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "helm" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range metricDecl.FindAllSubmatch(src, -1) {
			name := string(m[1])
			known[name] = true
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				known[name+suffix] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The families the master, chunk server and gateway define (see their
	// metrics.go); too few means the pattern above no longer matches.
	for _, name := range []string{"granary_s3_requests_total", "granary_chunkserver_fsync_seconds", "granary_master_is_leader", "granary_repair_eta_seconds"} {
		if !known[name] {
			t.Fatalf("found no declaration of %s in the Go sources: has metricDecl gone stale? found %v", name, sorted(known))
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		known[f.GetName()] = true
	}
	return known
}

func sorted(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// metricRef finds metric names in PromQL or in files holding it: names
// with the prefixes Granary's processes export. Prometheus' own "up" and
// recording rules (granary:...) are checked apart.
var metricRef = regexp.MustCompile(`\b(?:granary|go|process)_[a-z0-9_]+\b`)

// checkNames fails for each metric name in text that no process exports.
func checkNames(t *testing.T, where, text string, known map[string]bool) []string {
	t.Helper()
	names := metricRef.FindAllString(text, -1)
	for _, n := range names {
		if !known[n] {
			t.Errorf("%s uses %s, which no Granary process exports", where, n)
		}
	}
	return names
}

func TestRulesCheck(t *testing.T) {
	promtool := need(t, "promtool")
	out, err := exec.Command(promtool, "check", "rules", rulesFile).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

func TestRulesUnitTests(t *testing.T) {
	promtool := need(t, "promtool")
	cmd := exec.Command(promtool, "test", "rules", filepath.Base(rulesTestFile))
	cmd.Dir = filepath.Dir(rulesTestFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

// TestRulesUseRealMetrics checks the names in the rules and in their unit
// tests' input series against the code, and the recording rules used.
func TestRulesUseRealMetrics(t *testing.T) {
	known := knownMetrics(t)
	rules := read(t, rulesFile)
	if names := checkNames(t, rulesFile, rules, known); len(names) < 10 {
		t.Errorf("%s names only %d metrics", rulesFile, len(names))
	}
	tests := read(t, rulesTestFile)
	checkNames(t, rulesTestFile, tests, known)
	recorded := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s*- record:\s*(\S+)`).FindAllStringSubmatch(rules, -1) {
		recorded[m[1]] = true
	}
	for _, text := range []string{rules, tests} {
		for _, n := range regexp.MustCompile(`\bgranary:[a-z0-9_:]+`).FindAllString(text, -1) {
			if !recorded[n] {
				t.Errorf("%s is not a recording rule of %s", n, rulesFile)
			}
		}
	}
}

// TestEveryAlertTested checks that the unit tests see every alert of the
// rules fire at least once.
func TestEveryAlertTested(t *testing.T) {
	alerts := regexp.MustCompile(`(?m)^\s*- alert:\s*(\w+)`).FindAllStringSubmatch(read(t, rulesFile), -1)
	if len(alerts) == 0 {
		t.Fatalf("no alerts in %s", rulesFile)
	}
	fired := map[string]bool{}
	for _, block := range strings.Split(read(t, rulesTestFile), "- eval_time:")[1:] {
		name := regexp.MustCompile(`alertname:\s*(\w+)`).FindStringSubmatch(block)
		if name != nil && strings.Contains(block, "- exp_labels:") {
			fired[name[1]] = true
		}
	}
	for _, a := range alerts {
		if !fired[a[1]] {
			t.Errorf("alert %s never fires in %s", a[1], rulesTestFile)
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const dashboardFile = "grafana/granary.json"

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Type  string `json:"type"`
			Name  string `json:"name"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ H, W, X, Y int } `json:"gridPos"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	dec := json.NewDecoder(strings.NewReader(read(t, dashboardFile)))
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" || d.Title == "" || len(d.Panels) == 0 {
		t.Fatalf("%s: no uid, title or panels", dashboardFile)
	}
	return d
}

// flatten lists the panels, those inside collapsed rows included.
func flatten(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flatten(p.Panels)...)
	}
	return out
}

// TestDashboardUsesRealMetrics checks every query of the dashboard (its
// panels and its variables) against the metric names the code declares,
// and that the panels cover what operators look for.
func TestDashboardUsesRealMetrics(t *testing.T) {
	known := knownMetrics(t)
	d := loadDashboard(t)
	used := map[string]bool{}
	for _, p := range flatten(d.Panels) {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			names := checkNames(t, fmt.Sprintf("panel %q", p.Title), tg.Expr, known)
			if len(names) == 0 {
				t.Errorf("panel %q: query %q names no Granary metric", p.Title, tg.Expr)
			}
			for _, n := range names {
				used[n] = true
			}
		}
	}
	for _, v := range d.Templating.List {
		if q, err := json.Marshal(v.Query); err == nil {
			checkNames(t, "variable "+v.Name, string(q), known)
		}
	}
	for _, name := range []string{
		"granary_s3_requests_total", "granary_s3_request_duration_seconds_bucket",
		"granary_s3_received_bytes_total", "granary_s3_sent_bytes_total", "granary_s3_requests_in_flight",
		"granary_chunkserver_read_bytes_total", "granary_chunkserver_written_bytes_total",
		"granary_chunkserver_fsync_seconds_bucket",
		"granary_repair_queued_bytes", "granary_repair_bytes_per_second", "granary_repair_eta_seconds",
		"granary_chunks", "granary_chunkservers",
		"granary_master_is_leader", "granary_raft_term", "granary_raft_commit_index",
		"go_goroutines", "go_memstats_heap_inuse_bytes",
	} {
		if !used[name] {
			t.Errorf("no panel shows %s", name)
		}
	}
}

// TestDashboardImportable checks what Grafana needs to import the
// dashboard into any instance: queries through a data source variable,
// unique panel ids, panels inside the 24-column grid.
func TestDashboardImportable(t *testing.T) {
	d := loadDashboard(t)
	var dsVar bool
	for _, v := range d.Templating.List {
		if v.Type == "datasource" && v.Name == "datasource" && v.Query == "prometheus" {
			dsVar = true
		}
	}
	if !dsVar {
		t.Fatalf("no data source variable: a Prometheus data source named \"datasource\" of type datasource")
	}
	ids := map[int]string{}
	for _, p := range flatten(d.Panels) {
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", prev, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q is outside the grid: %+v", p.Title, p.GridPos)
		}
		if p.Type != "row" && (p.Datasource == nil || p.Datasource.UID != "${datasource}") {
			t.Errorf("panel %q does not query through ${datasource}: %+v", p.Title, p.Datasource)
		}
	}
}

// TestDashboardQueriesParse has promtool parse every panel query, with
// Grafana's variables replaced as Grafana would: each becomes a
// recording rule of a temporary rules file.
func TestDashboardQueriesParse(t *testing.T) {
	promtool := need(t, "promtool")
	vars := strings.NewReplacer("$__rate_interval", "2m", "$namespace", ".*")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for _, p := range flatten(loadDashboard(t).Panels) {
		for i, tg := range p.Targets {
			expr, err := json.Marshal(vars.Replace(tg.Expr)) // a JSON string is a YAML string
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&rules, "      - record: panel_%d_%d\n        expr: %s\n", p.ID, i, expr)
		}
	}
	path := filepath.Join(t.TempDir(), "dashboard-rules.yaml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("a dashboard query does not parse: %v\n%s", err, out)
	}
}
