package charttest

import (
	"encoding/base64"
	"regexp"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/fake"
)

// cluster is what the chart's lookup calls see: an API server holding
// the given objects (engine.ClientProvider over client-go's fake dynamic
// client).
type cluster struct{ client *fake.FakeDynamicClient }

func newCluster(objs ...runtime.Object) cluster {
	return cluster{fake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{{Version: "v1", Resource: "secrets"}: "SecretList"}, objs...)}
}

func (c cluster) GetClientFor(apiVersion, kind string) (dynamic.NamespaceableResourceInterface, bool, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, false, err
	}
	if kind != "Secret" {
		panic("the chart looks up only Secrets, not " + kind)
	}
	return c.client.Resource(gv.WithResource("secrets")), true, nil
}

func existingSecret(name string, data map[string]string) *unstructured.Unstructured {
	enc := map[string]any{}
	for k, v := range data {
		enc[k] = base64.StdEncoding.EncodeToString([]byte(v))
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret",
		"metadata": map[string]any{"name": name, "namespace": namespace},
		"data":     enc,
	}}
}

func authData(t *testing.T, o renderOpts) map[string]string {
	t.Helper()
	r, err := renderErr(t, o)
	if err != nil {
		t.Fatal(err)
	}
	s := r.secrets[full+"-auth"]
	if s == nil {
		t.Fatalf("no Secret %s-auth: %v", full, r.kinds())
	}
	if s.Annotations["helm.sh/resource-policy"] != "keep" {
		t.Errorf("the auth Secret is deleted on uninstall: annotations %v", s.Annotations)
	}
	out := map[string]string{}
	for k, v := range s.Data {
		out[k] = string(v)
	}
	return out
}

func TestSecretGeneratedOnce(t *testing.T) {
	first := authData(t, renderOpts{cluster: newCluster()})
	for key, re := range map[string]string{"cluster-secret": `^[A-Za-z0-9]{48}$`, "access-key": `^GR[A-Z0-9]{18}$`, "secret-key": `^[A-Za-z0-9]{40}$`} {
		if !regexp.MustCompile(re).MatchString(first[key]) {
			t.Errorf("generated %s %q does not match %s", key, first[key], re)
		}
	}
	if again := authData(t, renderOpts{cluster: newCluster()}); again["cluster-secret"] == first["cluster-secret"] || again["secret-key"] == first["secret-key"] {
		t.Errorf("two installs generated the same secrets")
	}
	// An upgrade finds the Secret of the install and keeps it.
	upgraded := authData(t, renderOpts{cluster: newCluster(existingSecret(full+"-auth", first))})
	for k, v := range first {
		if upgraded[k] != v {
			t.Errorf("upgrade changed %s: %q, was %q", k, upgraded[k], v)
		}
	}
	// Values given win over the Secret in the cluster.
	given := authData(t, renderOpts{
		values:  "auth: {clusterSecret: s3cr3t, accessKey: GRMYKEY, secretKey: mysecret}",
		cluster: newCluster(existingSecret(full+"-auth", first)),
	})
	want := map[string]string{"cluster-secret": "s3cr3t", "access-key": "GRMYKEY", "secret-key": "mysecret"}
	for k, v := range want {
		if given[k] != v {
			t.Errorf("given %s: got %q, want %q", k, given[k], v)
		}
	}
}

func TestExistingSecret(t *testing.T) {
	r := render(t, "auth: {existingSecret: my-granary}")
	if len(r.secrets) != 0 {
		t.Errorf("auth.existingSecret still renders %v", r.kinds())
	}
	for _, c := range []struct {
		what string
		env  []string
	}{
		{"master", nil}, {"chunkserver", nil}, {"gateway", []string{"GRANARY_ACCESS_KEY", "GRANARY_SECRET_KEY"}},
	} {
		var spec corev1.PodSpec
		if c.what == "gateway" {
			spec = r.deployments[full+"-s3"].Spec.Template.Spec
		} else {
			spec = r.statefulSets[full+"-"+c.what].Spec.Template.Spec
		}
		ctr := container(t, c.what, spec)
		for _, name := range append(c.env, "GRANARY_CLUSTER_SECRET") {
			e := env(ctr, name)
			if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != "my-granary" {
				t.Errorf("%s %s = %+v, want from Secret my-granary", c.what, name, e)
			}
		}
	}
}
