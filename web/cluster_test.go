package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

// TestOnMasters runs the dashboard the way granary master does (every
// member serves it at / through master.Config.Web, reading the cluster
// through its own address) on a three-master group: a follower shows the
// leader's view, and the API keeps its routes and its JSON 404s.
func TestOnMasters(t *testing.T) {
	var mu sync.Mutex
	dash := map[client.NodeID]http.Handler{} // by member id, built once its address is known
	c := testcluster.Start(t, testcluster.Options{Masters: 3, Tune: func(cfg *master.Config) {
		id := cfg.ID
		cfg.Web = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			h := dash[id]
			mu.Unlock()
			if h == nil {
				http.Error(w, "dashboard not ready", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	}})
	leader := c.Leader()
	var follower *testcluster.Node
	for _, n := range c.Nodes() {
		admin, err := client.NewAdmin(client.Config{Masters: []string{n.HTTPAddr}, Secret: testcluster.Secret})
		if err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.Cluster = admin
		h, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		dash[n.ID] = h
		mu.Unlock()
		if n != leader {
			follower = n
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, _ := client.NewAdmin(client.Config{Masters: c.Addrs(), Secret: testcluster.Secret})
	if _, err := admin.CreateUser(ctx, "root"); err != nil {
		t.Fatal(err)
	}
	root, err := admin.CreateKey(ctx, "root", "", "")
	if err != nil {
		t.Fatal(err)
	}

	base := "http://" + follower.HTTPAddr
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(path string) (int, string, string) {
		t.Helper()
		resp, err := hc.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	_, _, body := get("/login")
	resp, err := hc.PostForm(base+"/login", url.Values{"csrf": {csrfOf(t, body)}, "access_key": {root.AccessKey}, "secret_key": {root.SecretKey}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	code, _, body := get("/masters")
	if code != http.StatusOK || !strings.Contains(body, "<dt>Leader</dt><dd>"+string(leader.ID)+"</dd>") {
		t.Fatalf("follower %s's masters page: %d, leader %s not named\n%s", follower.ID, code, leader.ID, body)
	}
	if strings.Count(body, `<th scope="row">m`) != 3 {
		t.Errorf("masters page lists not 3 members:\n%s", body)
	}

	// The API keeps its routes; unknown /v1 paths stay JSON 404s.
	code, ctype, body := get("/v1/no-such-route")
	var apiErr struct{ Code string }
	if code != http.StatusNotFound || !strings.HasPrefix(ctype, "application/json") || json.Unmarshal([]byte(body), &apiErr) != nil || apiErr.Code == "" {
		t.Errorf("GET /v1/no-such-route: %d %s %s", code, ctype, body)
	}
	if code, _, body := get("/v1/health"); code != http.StatusOK || !strings.Contains(body, string(follower.ID)) {
		t.Errorf("GET /v1/health: %d %s", code, body)
	}
	if code, ctype, _ := get("/metrics"); code != http.StatusOK || strings.Contains(ctype, "html") {
		t.Errorf("GET /metrics: %d %s", code, ctype)
	}
	if code, ctype, _ := get("/no-such-page"); code != http.StatusNotFound || !strings.HasPrefix(ctype, "text/html") {
		t.Errorf("GET /no-such-page: %d %s", code, ctype)
	}
}

// TestDependencies checks that the dashboard reaches the cluster through
// the public client only: no server package, no internal master client.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/granary-store/granary/"
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"master", "chunkserver", "gateway", "internal/testcluster"} {
			if dep == mod+banned || strings.HasPrefix(dep, mod+banned+"/") {
				t.Errorf("web depends on %s", dep)
			}
		}
	}
	imports, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if strings.Contains(string(imports), mod+"internal/masterclient") {
		t.Error("web imports internal/masterclient: use client.Admin")
	}
}
