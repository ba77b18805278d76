// Package deptest enforces the dependency direction of DESIGN.md §11 and
// STYLE.md: arrows point down to client, placement and internal; each
// third-party library lives in one package.
package deptest

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/granary-store/granary"

type pkg struct {
	ImportPath string
	Deps       []string
	Imports    []string
}

func loadPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	return pkgs
}

func rel(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, module), "/") }

func under(path, dir string) bool {
	r := rel(path)
	return r == dir || strings.HasPrefix(r, dir+"/")
}

func TestDependencyDirection(t *testing.T) {
	pkgs := loadPackages(t)
	if len(pkgs) < 5 {
		t.Fatalf("found only %d packages", len(pkgs))
	}
	servers := []string{"master", "chunkserver", "gateway", "web"}
	// Third-party libraries and the only packages allowed to import them.
	owners := map[string][]string{
		"github.com/hashicorp/raft":         {"master"},
		"github.com/hashicorp/raft-boltdb":  {"master"},
		"github.com/dgraph-io/badger":       {"master/meta"},
		"github.com/klauspost/reedsolomon":  {"internal/erasure"},
		"github.com/hanwen/go-fuse":         {"mount"},
		"github.com/minio/minio-go":         {"internal/bench", "internal/chaos"}, // and tests
		"github.com/anishathalye/porcupine": {"internal/chaos"},
		// Metrics are the servers' business; the chunk store reports fsyncs
		// through a hook (disk.Config.ObserveSync) and stays free of them.
		"github.com/prometheus/client_golang": {"master", "chunkserver", "gateway", "mount"},
		// Tracing goes through internal/tracing (the API) and its otlp
		// package (the SDK and exporter, linked by cmd/granary only).
		"go.opentelemetry.io/otel": {"internal/tracing"},
		// The configuration file of the commands' flags.
		"go.yaml.in/yaml": {"internal/cliflag"},
	}
	for _, p := range pkgs {
		if !strings.HasPrefix(p.ImportPath, module) {
			continue
		}
		for _, imp := range p.Deps {
			check(t, p.ImportPath, imp, servers, owners)
		}
		for _, imp := range p.Imports {
			checkPublicClient(t, p.ImportPath, imp)
		}
	}
}

// clientUsers are the packages that reach the cluster through the public
// client package (client.Client, client.Admin) only, never through the
// master API client underneath it.
var clientUsers = []string{"gateway", "web", "cmd"}

// checkPublicClient fails when a client user imports internal/masterclient
// directly (the client package itself imports it, so the rule is on
// direct imports, not on the closure).
func checkPublicClient(t *testing.T, from, imp string) {
	t.Helper()
	if !strings.HasPrefix(imp, module) || !under(imp, "internal/masterclient") {
		return
	}
	for _, u := range clientUsers {
		if under(from, u) {
			t.Errorf("%s imports %s: use the client package (client.Client, client.Admin)", rel(from), rel(imp))
		}
	}
}

func check(t *testing.T, from, imp string, servers []string, owners map[string][]string) {
	t.Helper()
	if strings.HasPrefix(imp, module) {
		switch {
		case under(imp, "cmd"):
			t.Errorf("%s imports %s: nothing imports cmd/", rel(from), rel(imp))
		case under(from, "placement") && !under(imp, "placement"):
			t.Errorf("%s imports %s: placement imports nothing of the project", rel(from), rel(imp))
		case under(from, "client"):
			for _, s := range servers {
				if under(imp, s) {
					t.Errorf("%s imports server package %s", rel(from), rel(imp))
				}
			}
		case under(from, "master") && under(imp, "chunkserver"), under(from, "chunkserver") && under(imp, "master"):
			t.Errorf("%s imports %s: master and chunkserver never import each other", rel(from), rel(imp))
		}
		return
	}
	if under(from, "placement") && strings.Contains(strings.Split(imp, "/")[0], ".") {
		t.Errorf("placement depends on %s: standard library only", imp)
	}
	for lib, allowed := range owners {
		if !strings.HasPrefix(imp, lib) || under(from, "cmd") || under(from, "internal/testcluster") {
			continue
		}
		ok := false
		for _, a := range allowed {
			ok = ok || under(from, a)
		}
		if !ok && isDirect(from, lib) {
			t.Errorf("%s imports %s, which belongs to %v", rel(from), lib, allowed)
		}
	}
}

// isDirect reports whether pkg imports something from lib itself (rather
// than through a project package that owns it).
func isDirect(pkgPath, lib string) bool {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, pkgPath).Output()
	if err != nil {
		return true
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, lib) {
			return true
		}
	}
	return false
}

// harnesses are packages for tests and load generation; no server and no
// leaf library may depend on them.
var harnesses = []string{"internal/testcluster", "internal/chaos", "internal/bench"}

// leaves are the libraries under internal/ that servers build on.
var leaves = []string{"internal/proto", "internal/masterclient", "internal/erasure", "internal/rpc", "internal/chunkclient", "internal/checksum", "internal/pki", "internal/policy", "internal/audit", "internal/cliflag"}

func TestLayerRules(t *testing.T) {
	for _, p := range loadPackages(t) {
		from := p.ImportPath
		if !strings.HasPrefix(from, module) {
			continue
		}
		guarded := slicesAny(append([]string{"master", "chunkserver", "gateway", "web", "client", "placement"}, leaves...), func(d string) bool { return under(from, d) })
		for _, dep := range p.Deps {
			if guarded && slicesAny(harnesses, func(h string) bool { return strings.HasPrefix(dep, module) && under(dep, h) }) {
				t.Errorf("%s depends on %s: no server or library imports a harness", rel(from), rel(dep))
			}
			if strings.HasPrefix(dep, "gonum.org/") {
				t.Errorf("%s depends on %s: no plotting library in the module", rel(from), dep)
			}
			if under(from, "master/repair") && strings.HasPrefix(dep, module) && !under(dep, "placement") && !under(dep, "internal/proto") {
				t.Errorf("%s depends on %s: the planner imports only placement and internal/proto", rel(from), rel(dep))
			}
		}
		for _, imp := range p.Imports {
			if under(from, "master/repair") && strings.Contains(strings.Split(imp, "/")[0], ".") && !strings.HasPrefix(imp, module) {
				t.Errorf("%s imports %s: the planner uses the standard library, placement and internal/proto only", rel(from), imp)
			}
			if (under(from, "master/meta") || under(from, "master/repair")) && imp == "net/http" {
				t.Errorf("%s imports net/http: the replicated state and the planner know nothing of HTTP", rel(from))
			}
			if under(from, "master/meta") && strings.HasPrefix(imp, module) && under(imp, "master") && !under(imp, "master/meta") {
				t.Errorf("%s imports %s: the replicated state knows nothing of the master around it", rel(from), rel(imp))
			}
			if under(from, "master/meta") && strings.HasPrefix(imp, "github.com/dgraph-io/badger") && !slices.Contains(badgerUsers, rel(from)) {
				t.Errorf("%s imports %s: of the state's packages only %v use Badger (domain packages take a kv.Txn)", rel(from), imp, badgerUsers)
			}
			checkWorker(t, from, imp)
			if slicesAny(pureMeta, func(d string) bool { return under(from, d) }) && strings.Contains(strings.Split(imp, "/")[0], ".") &&
				(!strings.HasPrefix(imp, module) || !under(imp, "internal/proto") && !slices.Contains(pureMeta, rel(imp))) {
				t.Errorf("%s imports %s: the state's pure parts use the standard library, internal/proto and each other only (Badger stays in master/meta)", rel(from), imp)
			}
		}
	}
}

func slicesAny(xs []string, f func(string) bool) bool {
	for _, x := range xs {
		if f(x) {
			return true
		}
	}
	return false
}

// TestDiskFormatIsPure keeps the chunk store's on-disk encodings
// (chunkserver/disk/format) on the standard library alone: no project
// package, no third-party library, so the format can be read and tested
// without the store around it.
func TestDiskFormatIsPure(t *testing.T) {
	for _, p := range loadPackages(t) {
		if p.ImportPath != module+"/chunkserver/disk/format" {
			continue
		}
		for _, imp := range p.Imports {
			if strings.Contains(strings.Split(imp, "/")[0], ".") {
				t.Errorf("chunkserver/disk/format imports %s: standard library only", imp)
			}
		}
		return
	}
	t.Fatal("chunkserver/disk/format not found")
}

// TestChunkStoreHasNoMetricsLibrary keeps chunkserver/disk free of
// Prometheus (its owner rule allows all of chunkserver): the store reports
// fsync timings through disk.Config.ObserveSync and the server measures.
func TestChunkStoreHasNoMetricsLibrary(t *testing.T) {
	for _, p := range loadPackages(t) {
		if p.ImportPath != module+"/chunkserver/disk" {
			continue
		}
		for _, d := range p.Deps {
			if strings.HasPrefix(d, "github.com/prometheus/") {
				t.Errorf("chunkserver/disk depends on %s", d)
			}
		}
		return
	}
	t.Fatal("chunkserver/disk not found")
}

// badgerUsers are the only packages of the replicated state that import
// Badger: the state machine and its record layer, master/meta/kv.
var badgerUsers = []string{"master/meta", "master/meta/kv"}

// pureMeta are the parts of the replicated state that do no storage:
// record validation, listing over an iterator master/meta provides, and
// the snapshot stream format, a bucket configuration change, the state's
// errors, and the preconditions and lock rules of an object change.
var pureMeta = []string{"master/meta/validate", "master/meta/listing", "master/meta/snapstream", "master/meta/bucketconf",
	"master/meta/metaerr", "master/meta/precond"}

// masterParts are the master's packages below its root, each with the
// master packages it may import (its own subpackages aside). The master
// wires each with what it needs of it (funcs and small interfaces), so
// none imports the Raft library, and the leader's background workers
// import no HTTP either.
var masterParts = map[string]struct {
	allowed []string
	http    bool
}{
	"master/convert":   {allowed: []string{"master/meta"}},
	"master/lifecycle": {allowed: []string{"master/meta", "master/convert"}},
	"master/usage":     {allowed: []string{"master/meta"}},
	"master/alloc":     {allowed: []string{"master/meta", "master/repair", "master/wire"}},
	"master/metaapi":   {allowed: []string{"master/meta", "master/wire"}, http: true},
	"master/wire":      {allowed: []string{"master/meta"}, http: true},
}

func checkWorker(t *testing.T, from, imp string) {
	t.Helper()
	for part, rule := range masterParts {
		if !under(from, part) {
			continue
		}
		if imp == "net/http" && !rule.http || strings.HasPrefix(imp, "github.com/hashicorp/raft") {
			t.Errorf("%s imports %s: it takes what it needs of the master as funcs and interfaces", rel(from), imp)
		}
		if strings.HasPrefix(imp, module) && under(imp, "master") && !under(imp, part) &&
			!slicesAny(rule.allowed, func(a string) bool { return under(imp, a) }) {
			t.Errorf("%s imports %s: of the master it imports only %v", rel(from), rel(imp), rule.allowed)
		}
	}
}
