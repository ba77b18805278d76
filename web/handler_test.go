package web

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
)

// clock is a settable clock for session expiry and snapshot ageing.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type harness struct {
	t     testing.TB
	fake  *fakeCluster
	clock *clock
	h     *Handler
	srv   *httptest.Server
}

func newHarness(t testing.TB, fake *fakeCluster) *harness {
	t.Helper()
	hs := &harness{t: t, fake: fake, clock: &clock{t: t0}}
	cfg := DefaultConfig()
	cfg.Cluster, cfg.Now = fake, hs.clock.now
	cfg.Logger = slog.New(slog.NewTextHandler(tlog{t}, nil))
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs.h = h
	hs.srv = httptest.NewServer(h)
	t.Cleanup(hs.srv.Close)
	return hs
}

type tlog struct{ t testing.TB }

func (w tlog) Write(p []byte) (int, error) { w.t.Log(strings.TrimSpace(string(p))); return len(p), nil }

// browser is an HTTP client with a cookie jar that follows redirects.
type browser struct {
	hs  *harness
	c   *http.Client
	jar *cookiejar.Jar
}

func (hs *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{hs: hs, jar: jar, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (b *browser) do(req *http.Request) (int, string) {
	b.hs.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.hs.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (b *browser) get(path string) (int, string) {
	b.hs.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.hs.srv.URL+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) (int, string) {
	b.hs.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.hs.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t testing.TB, body string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in:\n%s", body)
	}
	return m[1]
}

// login logs in and returns the session's CSRF token.
func (b *browser) login(access, secret string) (int, string) {
	b.hs.t.Helper()
	_, body := b.get("/login")
	return b.post("/login", url.Values{"csrf": {csrfOf(b.hs.t, body)}, "access_key": {access}, "secret_key": {secret}, "next": {"/"}})
}

func (b *browser) loginRoot() string {
	b.hs.t.Helper()
	code, body := b.login(rootAccess, rootSecret)
	if code != http.StatusOK || !strings.Contains(body, "Log out") {
		b.hs.t.Fatalf("login: %d\n%s", code, body)
	}
	return csrfOf(b.hs.t, body)
}

var pagePaths = []string{"/", "/masters", "/servers", "/gateways", "/buckets", "/access", "/events", "/servers/cs1/decommission"}

func TestPagesRender(t *testing.T) {
	scenarios := []struct {
		name    string
		setup   func(*fakeCluster)
		verdict string
	}{
		{"empty", func(f *fakeCluster) {}, "degraded"}, // no leader, no server
		{"healthy", func(f *fakeCluster) { f.healthy(3) }, "healthy"},
		{"dead server", func(f *fakeCluster) {
			f.healthy(3)
			f.status.ChunkServers[1].State = "dead"
			f.status.ChunkServers[1].LastHeartbeatAgeMs = 31000
			f.status.Chunks.UnderReplicated = 12
			f.status.Repair.QueuedCopies = 12
		}, "degraded"},
		{"dead server, data copied elsewhere", func(f *fakeCluster) {
			f.healthy(4)
			f.status.ChunkServers[3].State = "dead"
		}, "healthy"},
		{"missing data", func(f *fakeCluster) {
			f.healthy(3)
			f.status.ChunkServers[0].State = "dead"
			f.status.ChunkServers[1].State = "dead"
			f.status.Chunks.UnderReplicated, f.status.Chunks.Missing = 30, 4
		}, "data missing"},
		{"at risk", func(f *fakeCluster) {
			f.healthy(4)
			f.status.ChunkServers[0].State = "dead"
			f.status.ChunkServers[1].State = "dead"
			f.status.Chunks.UnderReplicated = 30
		}, "at risk"},
		{"safe mode", func(f *fakeCluster) {
			f.healthy(3)
			f.status.SafeMode, f.status.Repair.SafeModeReason = true, "waiting for 1 of 3 chunk servers"
		}, "degraded"},
		{"unreachable", func(f *fakeCluster) { f.down = fmt.Errorf("status: %w", client.ErrUnavailable) }, "unknown"},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			fake := newFake()
			hs := newHarness(t, fake)
			b := hs.browser()
			b.loginRoot() // the login needs the cluster: break it afterwards
			fake.set(sc.setup)
			hs.clock.add(time.Hour)
			for _, p := range pagePaths {
				code, body := b.get(p)
				if code != http.StatusOK {
					t.Errorf("GET %s: %d\n%s", p, code, body)
				}
				checkBody(t, p, body)
				fcode, frag := b.get(p + "?fragment=1")
				if fcode != http.StatusOK || strings.Contains(frag, "<html") {
					t.Errorf("GET %s fragment: %d, whole page: %v", p, fcode, strings.Contains(frag, "<html"))
				}
			}
			_, body := b.get("/")
			if want := `data-level="`; !strings.Contains(body, want) {
				t.Fatalf("no verdict in overview:\n%s", body)
			}
			if !strings.Contains(body, ">"+sc.verdict+"</span>") {
				t.Errorf("verdict: want %q in\n%s", sc.verdict, body)
			}
		})
	}
}

var (
	inlineScriptRE = regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`)
	styleAttrRE    = regexp.MustCompile(`\sstyle=`)
	eventAttrRE    = regexp.MustCompile(`\son[a-z]+=`)
)

// checkBody checks what every page must hold to: no secret, nothing the
// CSP would block (inline script, inline style, event attributes).
func checkBody(t *testing.T, path, body string) {
	t.Helper()
	for _, s := range []string{rootSecret, bobSecret} {
		if strings.Contains(body, s) {
			t.Errorf("GET %s: a secret key is in the page", path)
		}
	}
	if inlineScriptRE.MatchString(body) || styleAttrRE.MatchString(body) || eventAttrRE.MatchString(body) {
		t.Errorf("GET %s: inline script or style in the page:\n%s", path, body)
	}
}

func TestSecurityHeaders(t *testing.T) {
	hs := newHarness(t, newFake().healthy(3))
	for _, p := range []string{"/login", "/", "/static/app.js", "/nope"} {
		resp, err := http.Get(hs.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: CSP %q", p, csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: headers %v", p, resp.Header)
		}
	}
}

func TestLoginRules(t *testing.T) {
	hs := newHarness(t, newFake().healthy(3))
	b := hs.browser()

	// Not logged in: pages go to the login page, fragments and POSTs get 401.
	if code, body := b.get("/servers"); code != http.StatusOK || !strings.Contains(body, `id="secret_key"`) || !strings.Contains(body, `value="/servers"`) {
		t.Fatalf("GET /servers without a session: %d\n%s", code, body)
	}
	if code, _ := b.get("/?fragment=1"); code != http.StatusUnauthorized {
		t.Errorf("fragment without a session: %d", code)
	}
	if code, _ := b.post("/buckets", url.Values{"name": {"x1x"}, "csrf": {"x"}}); code != http.StatusUnauthorized {
		t.Errorf("POST without a session: %d", code)
	}

	cases := []struct {
		name           string
		access, secret string
		want           int
	}{
		{"wrong secret", rootAccess, "nope", http.StatusUnauthorized},
		{"unknown key", "GRNOSUCHKEY", rootSecret, http.StatusUnauthorized},
		{"not an admin", bobAccess, bobSecret, http.StatusUnauthorized},
		{"empty", "", "", http.StatusUnauthorized},
	}
	for _, c := range cases {
		code, body := b.login(c.access, c.secret)
		if code != c.want || strings.Contains(body, "Log out") {
			t.Errorf("%s: %d, want %d", c.name, code, c.want)
		}
		checkBody(t, "/login ("+c.name+")", body)
	}
	// The login form's own token: missing or not matching its cookie.
	for _, tok := range []string{"", "forged"} {
		code, _ := b.post("/login", url.Values{"csrf": {tok}, "access_key": {rootAccess}, "secret_key": {rootSecret}})
		if code != http.StatusForbidden {
			t.Errorf("login with token %q: %d", tok, code)
		}
	}
	b.loginRoot()
	// An open redirect is refused.
	b = hs.browser()
	_, body := b.get("/login")
	code, _ := b.post("/login", url.Values{"csrf": {csrfOf(t, body)}, "access_key": {rootAccess}, "secret_key": {rootSecret}, "next": {"//evil.example/"}})
	if code != http.StatusOK {
		t.Errorf("login with an outside next: %d", code)
	}
	if got := safeNext("//evil.example/"); got != "/" {
		t.Errorf("safeNext: %q", got)
	}
}

func TestCookieFlags(t *testing.T) {
	for _, tls := range []bool{false, true} {
		hs := newHarness(t, newFake().healthy(1))
		srv := hs.srv
		if tls {
			srv = httptest.NewTLSServer(hs.h)
			defer srv.Close()
		}
		c := srv.Client()
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.Get(srv.URL + "/login")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/login", strings.NewReader(url.Values{"csrf": {csrfOf(t, string(body))}, "access_key": {rootAccess}, "secret_key": {rootSecret}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, ck := range resp.Cookies() {
			req.AddCookie(ck)
		}
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var sess *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == sessionCookie {
				sess = ck
			}
		}
		if resp.StatusCode != http.StatusSeeOther || sess == nil {
			t.Fatalf("tls=%v: login %d, cookies %v", tls, resp.StatusCode, resp.Cookies())
		}
		if !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Secure != tls || sess.MaxAge != int((8*time.Hour).Seconds()) {
			t.Errorf("tls=%v: session cookie %+v", tls, sess)
		}
	}
}

func TestCSRF(t *testing.T) {
	hs := newHarness(t, newFake().healthy(3))
	b := hs.browser()
	tok := b.loginRoot()
	for _, c := range []struct {
		name string
		form url.Values
	}{
		{"missing token", url.Values{"name": {"nocsrf"}}},
		{"empty token", url.Values{"name": {"nocsrf"}, "csrf": {""}}},
		{"wrong token", url.Values{"name": {"nocsrf"}, "csrf": {tok[:len(tok)-2] + "xx"}}},
	} {
		if code, _ := b.post("/buckets", c.form); code != http.StatusForbidden {
			t.Errorf("%s: %d", c.name, code)
		}
	}
	// Another session's token does not do either.
	other := hs.browser()
	otherTok := other.loginRoot()
	if code, _ := b.post("/buckets", url.Values{"name": {"nocsrf"}, "csrf": {otherTok}}); code != http.StatusForbidden {
		t.Errorf("another session's token: %d", code)
	}
	// A cross-site request with the right token is refused by origin.
	req, _ := http.NewRequest(http.MethodPost, hs.srv.URL+"/buckets", strings.NewReader(url.Values{"name": {"nocsrf"}, "csrf": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if code, _ := b.do(req); code != http.StatusForbidden {
		t.Errorf("cross-site POST: %d", code)
	}
	if len(hs.fake.buckets) != 0 {
		t.Fatalf("a refused POST created %v", hs.fake.buckets)
	}
	// Every state-changing route refuses a missing token.
	for _, p := range []string{"/logout", "/buckets/b1/delete", "/access/users", "/access/keys", "/access/keys/revoke", "/servers/cs1/decommission"} {
		if code, _ := b.post(p, url.Values{"name": {"u1"}, "user": {"root"}, "access_key": {bobAccess}, "confirm": {"cs1"}}); code != http.StatusForbidden {
			t.Errorf("POST %s without a token: %d", p, code)
		}
	}
	// State-changing routes are POST only.
	if code, _ := b.get("/buckets/b1/delete"); code != http.StatusNotFound && code != http.StatusMethodNotAllowed {
		t.Errorf("GET of an action: %d", code)
	}
	code, body := b.post("/buckets", url.Values{"name": {"photos"}, "csrf": {tok}})
	if code != http.StatusOK || !strings.Contains(body, "bucket photos created") || !strings.Contains(body, `id="bucket-photos"`) {
		t.Fatalf("create with the token: %d\n%s", code, body)
	}
}

func TestSessionExpiryAndLogout(t *testing.T) {
	hs := newHarness(t, newFake().healthy(3))
	b := hs.browser()
	tok := b.loginRoot()
	hs.clock.add(8*time.Hour - time.Second)
	if code, body := b.get("/"); code != http.StatusOK || !strings.Contains(body, "Log out") {
		t.Fatalf("just before expiry: %d", code)
	}
	hs.clock.add(time.Second)
	if code, body := b.get("/"); !strings.Contains(body, `id="secret_key"`) {
		t.Fatalf("after expiry: %d, not the login page", code)
	}
	if code, _ := b.post("/buckets", url.Values{"name": {"late"}, "csrf": {tok}}); code != http.StatusUnauthorized {
		t.Errorf("POST after expiry: %d", code)
	}

	tok = b.loginRoot()
	u, _ := url.Parse(hs.srv.URL)
	old := b.jar.Cookies(u)
	if code, body := b.post("/logout", url.Values{"csrf": {tok}}); code != http.StatusOK || !strings.Contains(body, `id="secret_key"`) {
		t.Fatalf("logout: %d", code)
	}
	// The old cookie, replayed, is dead.
	replay := hs.browser()
	replay.jar.SetCookies(u, old)
	if code, _ := replay.get("/?fragment=1"); code != http.StatusUnauthorized {
		t.Errorf("replayed cookie after logout: %d", code)
	}
	if code, _ := replay.post("/buckets", url.Values{"name": {"late"}, "csrf": {tok}}); code != http.StatusUnauthorized {
		t.Errorf("replayed POST after logout: %d", code)
	}
}

func TestKeySecretShownOnce(t *testing.T) {
	hs := newHarness(t, newFake().healthy(3))
	b := hs.browser()
	tok := b.loginRoot()
	code, body := b.post("/access/keys", url.Values{"user": {"bob"}, "csrf": {tok}})
	if code != http.StatusOK || !strings.Contains(body, `id="new-secret-key"`) {
		t.Fatalf("create key: %d\n%s", code, body)
	}
	secret := regexp.MustCompile(`id="new-secret-key">([^<]+)<`).FindStringSubmatch(body)[1]
	access := regexp.MustCompile(`id="new-access-key">([^<]+)<`).FindStringSubmatch(body)[1]
	if hs.fake.keys[access].SecretKey != secret {
		t.Fatalf("shown %s/%s, cluster has %+v", access, secret, hs.fake.keys[access])
	}
	for _, p := range pagePaths {
		for _, q := range []string{"", "?fragment=1"} {
			if _, body := b.get(p + q); strings.Contains(body, secret) {
				t.Errorf("GET %s%s shows the new secret again", p, q)
			}
		}
	}
	// Revoking a key ends the sessions logged in with it.
	code, body = b.post("/access/keys/revoke", url.Values{"access_key": {access}, "csrf": {tok}})
	if code != http.StatusOK || !strings.Contains(body, "revoked") {
		t.Fatalf("revoke: %d\n%s", code, body)
	}
	if _, ok := hs.fake.keys[access]; ok {
		t.Fatal("key still there")
	}
}

func TestActions(t *testing.T) {
	hs := newHarness(t, newFake().healthy(3))
	b := hs.browser()
	tok := b.loginRoot()
	post := func(path string, form url.Values, wantCode int, want string) {
		t.Helper()
		form.Set("csrf", tok)
		code, body := b.post(path, form)
		if code != wantCode || !strings.Contains(body, want) {
			t.Errorf("POST %s: %d (want %d), %q not in\n%s", path, code, wantCode, want, body)
		}
	}
	post("/buckets", url.Values{"name": {"logs"}}, http.StatusOK, "bucket logs created")
	post("/buckets", url.Values{"name": {"logs"}}, http.StatusConflict, "already exists")
	post("/buckets", url.Values{"name": {"<b>"}}, http.StatusBadRequest, "create bucket &lt;b&gt;")
	post("/buckets/logs/delete", url.Values{}, http.StatusOK, "bucket logs deleted")
	post("/buckets/logs/delete", url.Values{}, http.StatusNotFound, "no such bucket")
	post("/access/users", url.Values{"name": {"carol"}}, http.StatusOK, "user carol created")
	post("/servers/cs2/decommission", url.Values{"confirm": {"cs1"}}, http.StatusBadRequest, "to confirm")
	post("/servers/cs2/decommission", url.Values{"confirm": {"cs2"}}, http.StatusOK, "decommission of cs2 started")
	if _, body := b.get("/servers"); !strings.Contains(body, `data-state="draining"`) {
		t.Errorf("servers page after decommission:\n%s", body)
	}
	hs.fake.set(func(f *fakeCluster) { f.down = client.ErrUnavailable })
	post("/buckets", url.Values{"name": {"later"}}, http.StatusServiceUnavailable, "unavailable")
}

// TestLiveState covers what the tracker derives: events, the repair rate
// and ETA, and the one snapshot shared by concurrent viewers.
func TestLiveState(t *testing.T) {
	fake := newFake().healthy(3)
	hs := newHarness(t, fake)
	b := hs.browser()
	b.loginRoot()
	b.get("/")
	fake.set(func(f *fakeCluster) {
		f.status.ChunkServers[1].State = "dead"
		f.status.Chunks.UnderReplicated = 100
	})
	hs.clock.add(2 * time.Second)
	_, body := b.get("/")
	for _, want := range []string{">degraded<", "1 of 3 chunk servers dead", "100 chunks under-replicated", "chunk server cs2 dead", "repair started"} {
		if !strings.Contains(body, want) {
			t.Errorf("%q not in the overview", want)
		}
	}
	// 40 copies in the 12 s since the first sample: 3.3 copies/s, 60
	// chunks left: 18 s.
	fake.set(func(f *fakeCluster) { f.status.Repair.CopiesDone = 40; f.status.Chunks.UnderReplicated = 60 })
	hs.clock.add(10 * time.Second)
	_, body = b.get("/?fragment=1")
	if !strings.Contains(body, "3.3 copies/s") || !strings.Contains(body, "about 18s") {
		t.Errorf("rate and ETA not in\n%s", body)
	}
	// A master that measures repair in bytes is taken at its word.
	fake.set(func(f *fakeCluster) {
		f.status.Repair.BytesPerSecond, f.status.Repair.QueuedBytes, f.status.Repair.ETASeconds = 3<<20, 90<<20, 30
	})
	hs.clock.add(time.Second)
	_, body = b.get("/?fragment=1")
	if !strings.Contains(body, "3.0 MiB/s") || !strings.Contains(body, "about 30s") {
		t.Errorf("the master's rate and ETA not in\n%s", body)
	}
	fake.set(func(f *fakeCluster) {
		f.status.Repair.BytesPerSecond, f.status.Repair.QueuedBytes, f.status.Repair.ETASeconds = 0, 0, 0
		f.status.Chunks.UnderReplicated = 0
		f.status.Leader = "m2"
	})
	hs.clock.add(2 * time.Second)
	_, body = b.get("/events?fragment=1")
	for _, want := range []string{"repair finished in 13s", "leader changed: m1 → m2", "chunk server cs2 dead"} {
		if !strings.Contains(body, want) {
			t.Errorf("%q not in events:\n%s", want, body)
		}
	}

	// Concurrent viewers share one snapshot per refresh interval.
	hs.clock.add(time.Minute)
	fake.set(func(f *fakeCluster) { f.calls = 0 })
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if code, _ := b.get("/?fragment=1"); code != http.StatusOK {
				t.Errorf("concurrent viewer: %d", code)
			}
		})
	}
	wg.Wait()
	// One snapshot: status, buckets, users, keys and three health calls.
	if fake.calls != 7 {
		t.Errorf("20 viewers made %d calls, want 7 (one snapshot)", fake.calls)
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := New(DefaultConfig()); err == nil {
		t.Fatal("no cluster accepted")
	}
	cfg := DefaultConfig()
	cfg.Cluster, cfg.SessionTTL, cfg.AdminUsers = newFake(), 0, nil
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "session TTL") || !strings.Contains(err.Error(), "admin user") {
		t.Fatalf("validate: %v", err)
	}
}

func TestLoginThrottle(t *testing.T) {
	hs := newHarness(t, newFake().healthy(1))
	b := hs.browser()
	for range maxLoginFailures {
		if code, _ := b.login(rootAccess, "guess"); code != http.StatusUnauthorized {
			t.Fatalf("failed login: %d", code)
		}
	}
	if code, body := b.login(rootAccess, rootSecret); code != http.StatusTooManyRequests || strings.Contains(body, "Log out") {
		t.Fatalf("login after %d failures: %d", maxLoginFailures, code)
	}
	hs.clock.add(loginWindow)
	b.loginRoot()
}

// TestConcurrentUse renders pages while actions change the cluster and
// the clock moves, for the race detector.
func TestConcurrentUse(t *testing.T) {
	hs := newHarness(t, newFake().healthy(5))
	b := hs.browser()
	tok := b.loginRoot()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 10 {
				p := pagePaths[(i+j)%len(pagePaths)]
				if code, _ := b.get(p + "?fragment=1"); code != http.StatusOK {
					t.Errorf("GET %s: %d", p, code)
				}
			}
		})
	}
	for i := range 4 {
		wg.Go(func() {
			for j := range 5 {
				name := fmt.Sprintf("b-%d-%d", i, j)
				if code, _ := b.post("/buckets", url.Values{"name": {name}, "csrf": {tok}}); code != http.StatusOK {
					t.Errorf("create %s: %d", name, code)
				}
				hs.clock.add(300 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	if _, body := b.get("/buckets"); !strings.Contains(body, "20 buckets") {
		t.Errorf("buckets page after 20 creations:\n%s", body)
	}
}
