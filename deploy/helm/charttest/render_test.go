package charttest

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// The release every test renders: its objects are named store-granary-*
// in namespace data.
const (
	release   = "store"
	namespace = "data"
	full      = "store-granary"
	masterDNS = full + "-master.data.svc.cluster.local"
	csDNS     = full + "-chunkserver.data.svc.cluster.local"
)

// rendered is a rendered release: typed objects by kind and name, plus
// the objects no k8s.io/api type covers (ServiceMonitor) as plain maps.
type rendered struct {
	statefulSets map[string]*appsv1.StatefulSet
	deployments  map[string]*appsv1.Deployment
	services     map[string]*corev1.Service
	secrets      map[string]*corev1.Secret
	pdbs         map[string]*policyv1.PodDisruptionBudget
	other        map[string]map[string]any // "Kind/name"
	notes        string
}

// kinds lists every object, as "Kind/name", sorted.
func (r *rendered) kinds() []string {
	var out []string
	for n := range r.statefulSets {
		out = append(out, "StatefulSet/"+n)
	}
	for n := range r.deployments {
		out = append(out, "Deployment/"+n)
	}
	for n := range r.services {
		out = append(out, "Service/"+n)
	}
	for n := range r.secrets {
		out = append(out, "Secret/"+n)
	}
	for n := range r.pdbs {
		out = append(out, "PodDisruptionBudget/"+n)
	}
	for n := range r.other {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

var (
	chartOnce *chart.Chart
	chartErr  error
)

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	if chartOnce == nil && chartErr == nil {
		chartOnce, chartErr = loader.Load("../granary")
	}
	if chartErr != nil {
		t.Fatalf("load chart: %v", chartErr)
	}
	return chartOnce
}

// renderOpts are the ways a test renders: values as a user writes them
// (YAML, as in a -f file), the cluster lookup sees, and whether the
// values schema is skipped (helm --skip-schema-validation).
type renderOpts struct {
	values     string
	cluster    engine.ClientProvider
	skipSchema bool
}

// renderErr renders the chart as `helm install` does and decodes every
// object strictly into its k8s.io/api type: an unknown or misplaced
// field is an error.
func renderErr(t *testing.T, o renderOpts) (*rendered, error) {
	t.Helper()
	ch := loadChart(t)
	user, err := chartutil.ReadValues([]byte(o.values))
	if err != nil {
		t.Fatalf("test values: %v", err)
	}
	vals, err := chartutil.ToRenderValuesWithSchemaValidation(ch, user,
		chartutil.ReleaseOptions{Name: release, Namespace: namespace, IsInstall: true, Revision: 1},
		chartutil.DefaultCapabilities, o.skipSchema)
	if err != nil {
		return nil, err
	}
	var files map[string]string
	if o.cluster != nil {
		files, err = engine.RenderWithClientProvider(ch, vals, o.cluster)
	} else {
		files, err = engine.Render(ch, vals)
	}
	if err != nil {
		return nil, err
	}
	r := &rendered{
		statefulSets: map[string]*appsv1.StatefulSet{}, deployments: map[string]*appsv1.Deployment{},
		services: map[string]*corev1.Service{}, secrets: map[string]*corev1.Secret{},
		pdbs: map[string]*policyv1.PodDisruptionBudget{}, other: map[string]map[string]any{},
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") {
			r.notes = files[name]
			continue
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(files[name], -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			if err := r.add([]byte(doc)); err != nil {
				t.Fatalf("%s document %d: %v\n%s", name, i, err, doc)
			}
		}
	}
	return r, nil
}

func render(t *testing.T, values string) *rendered {
	t.Helper()
	r, err := renderErr(t, renderOpts{values: values})
	if err != nil {
		t.Fatalf("render with values %q: %v", values, err)
	}
	return r
}

func (r *rendered) add(doc []byte) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return err
	}
	if head.Kind == "" || head.Metadata.Name == "" || head.APIVersion == "" {
		return fmt.Errorf("object without apiVersion, kind or name")
	}
	key := head.Kind + "/" + head.Metadata.Name
	if _, dup := r.other[key]; dup || r.has(key) {
		return fmt.Errorf("%s rendered twice", key)
	}
	strict := func(into any) error { return yaml.UnmarshalStrict(doc, into) }
	switch head.APIVersion + " " + head.Kind {
	case "apps/v1 StatefulSet":
		o := &appsv1.StatefulSet{}
		r.statefulSets[head.Metadata.Name] = o
		return strict(o)
	case "apps/v1 Deployment":
		o := &appsv1.Deployment{}
		r.deployments[head.Metadata.Name] = o
		return strict(o)
	case "v1 Service":
		o := &corev1.Service{}
		r.services[head.Metadata.Name] = o
		return strict(o)
	case "v1 Secret":
		o := &corev1.Secret{}
		r.secrets[head.Metadata.Name] = o
		return strict(o)
	case "policy/v1 PodDisruptionBudget":
		o := &policyv1.PodDisruptionBudget{}
		r.pdbs[head.Metadata.Name] = o
		return strict(o)
	case "monitoring.coreos.com/v1 ServiceMonitor":
		m := map[string]any{}
		r.other[key] = m
		return yaml.Unmarshal(doc, &m)
	}
	return fmt.Errorf("unexpected object %s %s", head.APIVersion, head.Kind)
}

func (r *rendered) has(key string) bool {
	for _, k := range r.kinds() {
		if k == key {
			return true
		}
	}
	return false
}

// container returns the only container of a pod template.
func container(t *testing.T, what string, spec corev1.PodSpec) corev1.Container {
	t.Helper()
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", what, len(spec.Containers))
	}
	return spec.Containers[0]
}

// helpFlags reads the flags a granary command accepts from the golden
// help output its CLI tests keep in cmd/granary/testdata/help.
func helpFlags(t *testing.T, command string) map[string]bool {
	t.Helper()
	path := filepath.Join("..", "..", "..", "cmd", "granary", "testdata", "help", command+".txt")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("help of granary %s: %v", command, err)
	}
	defer f.Close()
	flags := map[string]bool{}
	re := regexp.MustCompile(`^  -([a-z0-9-]+)`)
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			flags[m[1]] = true
		}
	}
	if len(flags) == 0 {
		t.Fatalf("%s lists no flags", path)
	}
	return flags
}

// checkFlagsExist fails when args (a granary command line) use a flag the
// binary does not have.
func checkFlagsExist(t *testing.T, args []string) {
	t.Helper()
	known := helpFlags(t, args[0])
	for _, a := range args[1:] {
		if strings.HasPrefix(a, "--") {
			name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			if !known[name] {
				t.Errorf("granary %s has no flag %s (see cmd/granary/testdata/help/%s.txt)", args[0], a, args[0])
			}
		}
	}
}
