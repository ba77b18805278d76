package charttest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func masterArgs(pod string, bootstrap bool, extra ...string) []string {
	args := []string{"master", "--id", "$(POD_NAME)", "--dir", "/data",
		"--raft-addr", "$(POD_NAME)." + masterDNS + ":9334", "--raft-bind", ":9334",
		"--http-addr", "$(POD_NAME)." + masterDNS + ":9333", "--http-bind", ":9333"}
	if bootstrap {
		args = append(args, "--bootstrap")
	} else {
		args = append(args, "--join", full+"-master-0."+masterDNS+":9333")
	}
	args = append(args, "--heartbeat-interval", "3s", "--dead-after", "30s", "--replication", "3", "--log-level", "info")
	return append(args, extra...)
}

// masterList is --masters for n masters: the seed, then the peers.
func masterList(n int) string {
	addrs := []string{full + "-master-0." + masterDNS + ":9333"}
	for i := 0; i < n-1; i++ {
		addrs = append(addrs, fmt.Sprintf("%s-master-peer-%d.%s:9333", full, i, masterDNS))
	}
	return strings.Join(addrs, ",")
}

var tlsArgs = []string{"--cluster-ca", "/etc/granary/cluster-tls/ca.crt",
	"--cluster-cert", "/etc/granary/cluster-tls/tls.crt", "--cluster-key", "/etc/granary/cluster-tls/tls.key"}

func chunkserverArgs(masters int, rack string, extra ...string) []string {
	return append([]string{"chunkserver", "--id", "$(POD_NAME)", "--dir", "/data", "--http-addr", ":8080",
		"--advertise", "$(POD_NAME)." + csDNS + ":8080", "--masters", masterList(masters),
		"--rack", rack, "--log-level", "info"}, extra...)
}

func gatewayArgs(masters int, extra ...string) []string {
	return append([]string{"gateway", "--masters", masterList(masters), "--s3-addr", ":9000",
		"--region", "us-east-1", "--log-level", "info"}, extra...)
}

func checkArgs(t *testing.T, what string, c corev1.Container, want []string) {
	t.Helper()
	if c.Command != nil {
		t.Errorf("%s: command %q overrides the image's entrypoint", what, c.Command)
	}
	if !reflect.DeepEqual(c.Args, want) {
		t.Errorf("%s args:\n got %q\nwant %q", what, c.Args, want)
	}
	checkFlagsExist(t, c.Args)
}

func TestDefaultObjects(t *testing.T) {
	r := render(t, "")
	want := []string{
		"Deployment/" + full + "-s3",
		"PodDisruptionBudget/" + full + "-chunkserver",
		"PodDisruptionBudget/" + full + "-master",
		"PodDisruptionBudget/" + full + "-s3",
		"Secret/" + full + "-auth",
		"Service/" + full + "-chunkserver",
		"Service/" + full + "-master",
		"Service/" + full + "-s3",
		"StatefulSet/" + full + "-chunkserver",
		"StatefulSet/" + full + "-master",
		"StatefulSet/" + full + "-master-peer",
	}
	if got := r.kinds(); !reflect.DeepEqual(got, want) {
		t.Fatalf("objects:\n got %q\nwant %q", got, want)
	}
	for name, want := range map[string]int32{full + "-master": 1, full + "-master-peer": 2, full + "-chunkserver": 4} {
		if got := *r.statefulSets[name].Spec.Replicas; got != want {
			t.Errorf("%s replicas %d, want %d", name, got, want)
		}
	}
	if got := *r.deployments[full+"-s3"].Spec.Replicas; got != 2 {
		t.Errorf("gateway replicas %d, want 2", got)
	}
	seed, peer := r.statefulSets[full+"-master"], r.statefulSets[full+"-master-peer"]
	checkArgs(t, "seed master", container(t, "seed", seed.Spec.Template.Spec), masterArgs(full+"-master-0", true))
	checkArgs(t, "peer master", container(t, "peer", peer.Spec.Template.Spec), masterArgs("", false))
	cs := r.statefulSets[full+"-chunkserver"]
	checkArgs(t, "chunk server", container(t, "chunkserver", cs.Spec.Template.Spec), chunkserverArgs(3, "$(GRANARY_RACK)"))
	gw := r.deployments[full+"-s3"]
	checkArgs(t, "gateway", container(t, "gateway", gw.Spec.Template.Spec), gatewayArgs(3))
	if !strings.Contains(r.notes, full+"-s3.data.svc.cluster.local:9000") {
		t.Errorf("NOTES do not name the S3 endpoint:\n%s", r.notes)
	}
}

// TestStatefulSets checks what keeps members and data stable: the
// headless Services that give pods their names, one volume per pod
// mounted at --dir, pod selectors that match only their own pods.
func TestStatefulSets(t *testing.T) {
	r := render(t, "")
	for name, svc := range map[string]string{full + "-master": full + "-master", full + "-master-peer": full + "-master", full + "-chunkserver": full + "-chunkserver"} {
		s := r.statefulSets[name]
		if s.Spec.ServiceName != svc {
			t.Errorf("%s serviceName %q, want %q", name, s.Spec.ServiceName, svc)
		}
		hs := r.services[svc]
		if hs == nil || hs.Spec.ClusterIP != "None" || !hs.Spec.PublishNotReadyAddresses {
			t.Errorf("%s: Service %s is not headless with not-ready addresses published: %+v", name, svc, hs)
			continue
		}
		if !subset(hs.Spec.Selector, s.Spec.Template.Labels) {
			t.Errorf("Service %s selector %v does not select %s pods %v", svc, hs.Spec.Selector, name, s.Spec.Template.Labels)
		}
		if !subset(s.Spec.Selector.MatchLabels, s.Spec.Template.Labels) {
			t.Errorf("%s selector %v does not match its template %v", name, s.Spec.Selector.MatchLabels, s.Spec.Template.Labels)
		}
		if len(s.Spec.VolumeClaimTemplates) != 1 {
			t.Fatalf("%s: %d volume claim templates", name, len(s.Spec.VolumeClaimTemplates))
		}
		pvc := s.Spec.VolumeClaimTemplates[0]
		size := map[bool]string{true: "100Gi", false: "10Gi"}[name == full+"-chunkserver"]
		if got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; got.Cmp(resource.MustParse(size)) != 0 || pvc.Name != "data" {
			t.Errorf("%s claim %s of %s, want data of %s", name, pvc.Name, got.String(), size)
		}
		c := container(t, name, s.Spec.Template.Spec)
		if !mounted(c, "data", "/data") || !mounted(c, "tmp", "/tmp") {
			t.Errorf("%s mounts %+v, want data at /data and tmp at /tmp", name, c.VolumeMounts)
		}
		checkPod(t, name, s.Spec.Template.Spec, r)
	}
	seedSel, peerSel := r.statefulSets[full+"-master"].Spec.Selector.MatchLabels, r.statefulSets[full+"-master-peer"].Spec.Selector.MatchLabels
	if subset(seedSel, r.statefulSets[full+"-master-peer"].Spec.Template.Labels) || subset(peerSel, r.statefulSets[full+"-master"].Spec.Template.Labels) {
		t.Errorf("the master StatefulSets' selectors overlap: %v, %v", seedSel, peerSel)
	}
	aff := r.statefulSets[full+"-chunkserver"].Spec.Template.Spec.Affinity
	if aff == nil || aff.PodAntiAffinity == nil || len(aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) != 1 ||
		aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].TopologyKey != "kubernetes.io/hostname" {
		t.Errorf("chunk servers are not spread one per node: %+v", aff)
	}
	soft := render(t, "chunkserver: {antiAffinity: soft}").statefulSets[full+"-chunkserver"].Spec.Template.Spec.Affinity.PodAntiAffinity
	if len(soft.RequiredDuringSchedulingIgnoredDuringExecution) != 0 || len(soft.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
		t.Errorf("antiAffinity soft: %+v", soft)
	}
	checkPod(t, "gateway", r.deployments[full+"-s3"].Spec.Template.Spec, r)
}

// checkPod checks what every Granary pod shares: the image, security
// settings, resources, and secrets that exist.
func checkPod(t *testing.T, what string, spec corev1.PodSpec, r *rendered) {
	t.Helper()
	c := container(t, what, spec)
	if c.Image != "granary:dev" {
		t.Errorf("%s image %q, want granary:dev (make docker)", what, c.Image)
	}
	psc, sc := spec.SecurityContext, c.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 || psc.FSGroup == nil {
		t.Errorf("%s pod security context %+v: want non-root 65532 with an fsGroup", what, psc)
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s container security context %+v: want a read-only root and no privilege escalation", what, sc)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s resources %+v", what, c.Resources)
	}
	for _, e := range c.Env {
		if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil {
			s := r.secrets[ref.SecretKeyRef.Name]
			if s == nil {
				t.Errorf("%s env %s: no Secret %s rendered", what, e.Name, ref.SecretKeyRef.Name)
			} else if _, ok := s.Data[ref.SecretKeyRef.Key]; !ok {
				t.Errorf("%s env %s: Secret %s has no key %s", what, e.Name, s.Name, ref.SecretKeyRef.Key)
			}
		}
	}
	if env(c, "GRANARY_CLUSTER_SECRET") == nil {
		t.Errorf("%s has no GRANARY_CLUSTER_SECRET", what)
	}
}

// TestProbes checks every probe against the paths the daemons serve and
// the ports their flags listen on.
func TestProbes(t *testing.T) {
	r := render(t, "")
	type want struct {
		path, port string
		number     int32
	}
	cases := map[string]struct {
		spec corev1.PodSpec
		want want
	}{
		"seed master": {r.statefulSets[full+"-master"].Spec.Template.Spec, want{"/v1/health", "http", 9333}},
		"peer master": {r.statefulSets[full+"-master-peer"].Spec.Template.Spec, want{"/v1/health", "http", 9333}},
		"chunkserver": {r.statefulSets[full+"-chunkserver"].Spec.Template.Spec, want{"/v1/health", "http", 8080}},
		"gateway":     {r.deployments[full+"-s3"].Spec.Template.Spec, want{"/-/health", "s3", 9000}},
	}
	for what, tc := range cases {
		c := container(t, what, tc.spec)
		listen := listenPort(t, c.Args)
		if listen != tc.want.number {
			t.Errorf("%s listens on %d, want %d", what, listen, tc.want.number)
		}
		if p := containerPort(c, tc.want.port); p != listen {
			t.Errorf("%s port %s is %d, the process listens on %d", what, tc.want.port, p, listen)
		}
		probes := map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe}
		if what != "gateway" {
			probes["startup"] = c.StartupProbe
		}
		for kind, p := range probes {
			if p == nil || p.HTTPGet == nil {
				t.Errorf("%s %s probe %+v, want an HTTP GET", what, kind, p)
				continue
			}
			if p.HTTPGet.Path != tc.want.path || p.HTTPGet.Port.String() != tc.want.port || p.HTTPGet.Scheme != corev1.URISchemeHTTP {
				t.Errorf("%s %s probe GET %s %s:%s, want http %s on %s", what, kind, p.HTTPGet.Scheme, p.HTTPGet.Port.String(), p.HTTPGet.Path, tc.want.path, tc.want.port)
			}
		}
	}
}

// listenPort is the port of the address a granary command line listens
// on (--http-bind, --http-addr or --s3-addr).
func listenPort(t *testing.T, args []string) int32 {
	t.Helper()
	for _, flag := range []string{"--http-bind", "--s3-addr", "--http-addr"} {
		for i, a := range args[:len(args)-1] {
			if a == flag {
				_, port, _ := strings.Cut(args[i+1], ":")
				n, err := strconv.Atoi(port)
				if err != nil {
					t.Fatalf("%s %s: %v", flag, args[i+1], err)
				}
				return int32(n)
			}
		}
	}
	t.Fatalf("no listen address in %q", args)
	return 0
}

func TestMasterCounts(t *testing.T) {
	for _, n := range []int{1, 3, 5} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			r := render(t, fmt.Sprintf("master: {replicas: %d}", n))
			if got := *r.statefulSets[full+"-master"].Spec.Replicas; got != 1 {
				t.Errorf("seed replicas %d", got)
			}
			peer := r.statefulSets[full+"-master-peer"]
			if n == 1 {
				if peer != nil {
					t.Errorf("one master renders a peer StatefulSet")
				}
				if r.pdbs[full+"-master"] != nil {
					t.Errorf("one master has a PodDisruptionBudget that blocks every drain")
				}
			} else if peer == nil || *peer.Spec.Replicas != int32(n-1) {
				t.Errorf("peer StatefulSet %+v, want %d replicas", peer, n-1)
			}
			cs := container(t, "chunkserver", r.statefulSets[full+"-chunkserver"].Spec.Template.Spec)
			checkArgs(t, "chunk server", cs, chunkserverArgs(n, "$(GRANARY_RACK)"))
			checkArgs(t, "gateway", container(t, "gateway", r.deployments[full+"-s3"].Spec.Template.Spec), gatewayArgs(n))
		})
	}
}

func TestRefusesBadValues(t *testing.T) {
	for _, values := range []string{
		"master: {replicas: 2}",
		"master: {replicas: 4}",
		"master: {replicas: 0}",
		"master: {replicas: three}",
		"master: {replica: 3}",
		"master: {heartbeatInterval: 3}",
		"master: {logLevel: loud}",
		"chunkserver: {replicas: 0}",
		"chunkserver: {antiAffinity: sometimes}",
		"chunkserver: {persistence: {size: lots}}",
		"chunkserver: {rack: 'rack a'}",
		"gateway: {service: {type: Ingress}}",
		"gateway: {tls: {enabled: true}}",
		"tls: {enabled: true}",
		"auth: {accessKey: GRKEY}",
		"image: {repository: ''}",
		"unknown: 1",
	} {
		_, err := renderErr(t, renderOpts{values: values})
		if err == nil || !strings.Contains(err.Error(), "schema") {
			t.Errorf("values %q: err %v, want a schema error", values, err)
		}
	}
	// Without the schema (helm --skip-schema-validation) the templates
	// still refuse a Raft group of the wrong size and TLS without its Secret.
	for values, msg := range map[string]string{
		"master: {replicas: 2}":           "master.replicas must be 1, 3 or 5",
		"master: {replicas: 4}":           "master.replicas must be 1, 3 or 5",
		"tls: {enabled: true}":            "tls.secretName is required",
		"gateway: {tls: {enabled: true}}": "gateway.tls.secretName is required",
	} {
		_, err := renderErr(t, renderOpts{values: values, skipSchema: true})
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("values %q without the schema: err %v, want %q", values, err, msg)
		}
	}
}

func TestRack(t *testing.T) {
	c := container(t, "chunkserver", render(t, "").statefulSets[full+"-chunkserver"].Spec.Template.Spec)
	e := env(c, "GRANARY_RACK")
	if e == nil || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.labels['topology.kubernetes.io/zone']" {
		t.Errorf("GRANARY_RACK %+v, want the pod's topology.kubernetes.io/zone label", e)
	}
	c = container(t, "chunkserver", render(t, "chunkserver: {rack: rack-a, replicas: 6}").statefulSets[full+"-chunkserver"].Spec.Template.Spec)
	checkArgs(t, "chunk server with a rack", c, chunkserverArgs(3, "rack-a"))
	if env(c, "GRANARY_RACK") != nil {
		t.Errorf("a fixed rack still reads the node label")
	}
}

func TestExtraValues(t *testing.T) {
	r := render(t, `
image: {repository: registry.example/granary, tag: v1.2.3}
master: {extraArgs: [--gc-delay, 10m], persistence: {size: 20Gi, storageClass: fast}}
gateway: {domain: s3.example, region: eu-1}
`)
	seed := r.statefulSets[full+"-master"]
	c := container(t, "seed", seed.Spec.Template.Spec)
	checkArgs(t, "seed with extra args", c, masterArgs("", true, "--gc-delay", "10m"))
	if c.Image != "registry.example/granary:v1.2.3" {
		t.Errorf("image %q", c.Image)
	}
	if sc := seed.Spec.VolumeClaimTemplates[0].Spec.StorageClassName; sc == nil || *sc != "fast" {
		t.Errorf("storage class %v", sc)
	}
	g := container(t, "gateway", r.deployments[full+"-s3"].Spec.Template.Spec)
	want := gatewayArgs(3)
	want = append(want[:len(want)-4], "--region", "eu-1", "--domain", "s3.example", "--log-level", "info")
	checkArgs(t, "gateway with a domain", g, want)
}

func TestTLS(t *testing.T) {
	r := render(t, "tls: {enabled: true, secretName: granary-cluster-tls}\ngateway: {tls: {enabled: true, secretName: s3-cert}}")
	for _, name := range []string{full + "-master", full + "-master-peer"} {
		spec := r.statefulSets[name].Spec.Template.Spec
		c := container(t, name, spec)
		checkArgs(t, name, c, masterArgs("", name == full+"-master", tlsArgs...))
		if c.ReadinessProbe.HTTPGet.Scheme != corev1.URISchemeHTTPS || c.LivenessProbe.HTTPGet.Scheme != corev1.URISchemeHTTPS {
			t.Errorf("%s probes are not HTTPS", name)
		}
		checkSecretVolume(t, name, spec, c, "granary-cluster-tls", "/etc/granary/cluster-tls")
	}
	spec := r.statefulSets[full+"-chunkserver"].Spec.Template.Spec
	c := container(t, "chunkserver", spec)
	checkArgs(t, "chunk server", c, chunkserverArgs(3, "$(GRANARY_RACK)", tlsArgs...))
	checkSecretVolume(t, "chunkserver", spec, c, "granary-cluster-tls", "/etc/granary/cluster-tls")
	for kind, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		want := append([]string{"/usr/local/bin/granary", "healthcheck", "--timeout", "3s"}, tlsArgs...)
		want = append(want, "https://localhost:8080/v1/health")
		if p == nil || p.Exec == nil || !reflect.DeepEqual(p.Exec.Command, want) {
			t.Errorf("chunk server %s probe %+v, want exec %q", kind, p, want)
			continue
		}
		checkFlagsExist(t, p.Exec.Command[1:])
	}
	spec = r.deployments[full+"-s3"].Spec.Template.Spec
	c = container(t, "gateway", spec)
	want := gatewayArgs(3)
	want = append(want[:len(want)-2], "--tls-cert", "/etc/granary/s3-tls/tls.crt", "--tls-key", "/etc/granary/s3-tls/tls.key", "--log-level", "info")
	checkArgs(t, "gateway", c, append(want, tlsArgs...))
	if c.ReadinessProbe.HTTPGet.Scheme != corev1.URISchemeHTTPS {
		t.Errorf("gateway probe is not HTTPS")
	}
	checkSecretVolume(t, "gateway", spec, c, "s3-cert", "/etc/granary/s3-tls")
	checkSecretVolume(t, "gateway", spec, c, "granary-cluster-tls", "/etc/granary/cluster-tls")
}

func checkSecretVolume(t *testing.T, what string, spec corev1.PodSpec, c corev1.Container, secret, path string) {
	t.Helper()
	for _, v := range spec.Volumes {
		if v.Secret != nil && v.Secret.SecretName == secret {
			if !mounted(c, v.Name, path) {
				t.Errorf("%s: Secret %s is not mounted at %s: %+v", what, secret, path, c.VolumeMounts)
			}
			return
		}
	}
	t.Errorf("%s: no volume of Secret %s", what, secret)
}

func TestServiceMonitor(t *testing.T) {
	if r := render(t, ""); len(r.other) != 0 {
		t.Fatalf("ServiceMonitors rendered by default: %v", r.kinds())
	}
	for _, tls := range []bool{false, true} {
		r := render(t, fmt.Sprintf("serviceMonitor: {enabled: true, labels: {release: prom}}\ntls: {enabled: %v, secretName: ctls}", tls))
		for component, want := range map[string][3]string{
			"master":      {full + "-master", "http", "/metrics"},
			"chunkserver": {full + "-chunkserver", "http", "/metrics"},
			"gateway":     {full + "-s3", "s3", "/-/metrics"},
		} {
			sm := r.other["ServiceMonitor/"+full+"-"+component]
			if sm == nil {
				t.Fatalf("no ServiceMonitor for %s: %v", component, r.kinds())
			}
			var spec struct {
				Selector struct {
					MatchLabels map[string]string `json:"matchLabels"`
				} `json:"selector"`
				Endpoints []struct {
					Port, Path, Scheme string
					Relabelings        []map[string]any `json:"relabelings"`
					TLSConfig          map[string]any   `json:"tlsConfig"`
				} `json:"endpoints"`
			}
			remarshal(t, sm["spec"], &spec)
			svc := r.services[want[0]]
			if !subset(spec.Selector.MatchLabels, svc.Labels) {
				t.Errorf("%s ServiceMonitor selector %v misses Service %s %v", component, spec.Selector.MatchLabels, svc.Name, svc.Labels)
			}
			if labels := sm["metadata"].(map[string]any)["labels"].(map[string]any); labels["release"] != "prom" {
				t.Errorf("%s ServiceMonitor labels %v", component, labels)
			}
			if len(spec.Endpoints) != 1 {
				t.Fatalf("%s endpoints %+v", component, spec.Endpoints)
			}
			ep := spec.Endpoints[0]
			if ep.Port != want[1] || ep.Path != want[2] || servicePort(svc, ep.Port) == 0 {
				t.Errorf("%s scrapes port %s path %s, want %s %s (a port of Service %s)", component, ep.Port, ep.Path, want[1], want[2], svc.Name)
			}
			if len(ep.Relabelings) != 1 || ep.Relabelings[0]["targetLabel"] != "component" || ep.Relabelings[0]["replacement"] != component {
				t.Errorf("%s relabelings %v, want component=%s", component, ep.Relabelings, component)
			}
			cluster := tls && component != "gateway"
			if cluster != (ep.Scheme == "https") || cluster != (ep.TLSConfig["keySecret"] != nil) {
				t.Errorf("%s with tls %v: scheme %q tlsConfig %v", component, tls, ep.Scheme, ep.TLSConfig)
			}
		}
	}
}

func remarshal(t *testing.T, from, into any) {
	t.Helper()
	b, err := json.Marshal(from)
	if err == nil {
		err = json.Unmarshal(b, into)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func subset(sub, of map[string]string) bool {
	if len(sub) == 0 {
		return false
	}
	for k, v := range sub {
		if of[k] != v {
			return false
		}
	}
	return true
}

func mounted(c corev1.Container, volume, path string) bool {
	for _, m := range c.VolumeMounts {
		if m.Name == volume && m.MountPath == path {
			return true
		}
	}
	return false
}

func env(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

func servicePort(s *corev1.Service, name string) int32 {
	for _, p := range s.Spec.Ports {
		if p.Name == name {
			return p.Port
		}
	}
	return 0
}
