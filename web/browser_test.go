package web

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway"
	"github.com/granary-store/granary/internal/testcluster"
	"github.com/granary-store/granary/master"
)

const chromium = "/usr/bin/chromium"

// TestBrowser drives the dashboard in headless Chromium against an
// in-process cluster (one master serving the dashboard at / as
// `granary server` does, three chunk servers, replication 3, and an S3
// gateway reporting to the master): log in, see three servers alive, send
// S3 requests and watch the live S3 rates move, kill a server and watch
// the overview turn degraded without a reload, add a server and watch the
// repair bring it back to healthy, see the buckets' counts after the
// uploads, create a bucket and a key, decommission a server, and check
// labels and keyboard reachability. Screenshots go to bin/web/.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("%s not installed; run scripts/ensure-test-deps.sh (make test does): %v", chromium, err)
	}
	var dash atomic.Pointer[Handler]
	c := testcluster.Start(t, testcluster.Options{Masters: 1, ChunkServers: 3, Replication: 3, Tune: func(cfg *master.Config) {
		cfg.BucketCountInterval = 300 * time.Millisecond
		cfg.Web = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if h := dash.Load(); h != nil {
				h.ServeHTTP(w, r)
				return
			}
			http.Error(w, "dashboard not ready", http.StatusServiceUnavailable)
		})
	}})
	admin, err := client.NewAdmin(client.Config{Masters: c.Addrs(), Secret: testcluster.Secret})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()
	if _, err := admin.CreateUser(ctx, "root"); err != nil {
		t.Fatal(err)
	}
	root, err := admin.CreateKey(ctx, "root", "", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Cluster, cfg.Refresh = admin, 500*time.Millisecond
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dash.Store(h)
	putObjects(ctx, t, c)
	base := "http://" + c.Addrs()[0]

	bctx := newBrowser(ctx, t)
	shots := filepath.Join("..", "bin", "web")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	b := &tab{t: t, ctx: bctx}
	shot := func(name string) {
		t.Helper()
		png := value(b, "screenshot "+name, 10*time.Second, chromedp.FullScreenshot(100))
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run, wait := b.run, b.wait

	// Log in; the overview shows three live servers and healthy data.
	run("login page", 15*time.Second, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("access_key")))
	shot("login")
	run("log in", 15*time.Second,
		chromedp.SendKeys(chromedp.ID("access_key"), root.AccessKey),
		chromedp.SendKeys(chromedp.ID("secret_key"), root.SecretKey),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.CSS(`#verdict[data-level="ok"]`)),
	)
	if alive := value(b, "servers alive", 5*time.Second, chromedp.Text(chromedp.ID("servers-alive"))); alive != "3" {
		t.Fatalf("servers alive: %q", alive)
	}
	shot("overview-healthy")

	// S3 traffic through the gateway: the overview's live rates move.
	s3 := startGateway(ctx, t, c, root)
	s3Payload := bytes.Repeat([]byte("s3"), 1024) // 2 KiB
	for i := range 10 {
		if _, err := s3.PutObject(ctx, "data", fmt.Sprintf("s3-%d", i), bytes.NewReader(s3Payload), int64(len(s3Payload)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s3.StatObject(ctx, "data", fmt.Sprintf("s3-%d", i), minio.StatObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	wait("live S3 rates move", 20*time.Second, `(() => { const r = document.querySelector('#s3-rps')?.textContent || '';
		return document.querySelector('#s3-gateways')?.textContent === '1' && /^[0-9.]+\/s$/.test(r) && r !== '0/s'; })()`)
	shot("overview-traffic")

	// Kill a chunk server: the open page turns degraded by itself.
	run("mark the document", 5*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Evaluate[int](`window.granaryMark = 42`)(ctx, tg)
		return err
	}))
	c.KillChunkServer(c.ChunkServers()[1])
	wait("overview turns degraded", 20*time.Second, `document.querySelector('#verdict')?.dataset.level === 'warn' && document.querySelector('#servers-dead')?.textContent === '1' && document.querySelector('#chunks-under')?.textContent !== '0'`)
	if mark := value(b, "same document", 5*time.Second, chromedp.Evaluate[int](`window.granaryMark || 0`)); mark != 42 {
		t.Fatal("the page was reloaded")
	}
	shot("overview-degraded")
	checkContrast(t, b, "overview (degraded)")

	// A fourth server takes the copies: back to healthy, still no reload.
	c.AddChunkServer("r1")
	wait("repair brings it back to healthy", 45*time.Second, `document.querySelector('#verdict')?.dataset.level === 'ok' && document.querySelector('#chunks-under')?.textContent === '0'`)
	if mark := value(b, "same document after repair", 5*time.Second, chromedp.Evaluate[int](`window.granaryMark || 0`)); mark != 42 {
		t.Fatal("the page was reloaded")
	}
	shot("overview")

	// Create a bucket from the UI.
	run("create a bucket", 10*time.Second,
		chromedp.Navigate(base+"/buckets"),
		chromedp.WaitVisible(chromedp.ID("bucket-name")),
		chromedp.SendKeys(chromedp.ID("bucket-name"), "photos"),
		chromedp.Click(chromedp.ID("create-bucket")),
		chromedp.WaitVisible(chromedp.ID("bucket-photos")),
	)
	if _, err := admin.Bucket(ctx, "photos"); err != nil {
		t.Fatalf("bucket made in the UI: %v", err)
	}
	// The leader's counts of the uploads: six 64 KiB objects and ten of
	// 2 KiB, all in chunks of three replicas (with one master nothing is
	// inline); the new bucket is empty.
	wantLogical := 6*64<<10 + 10*2048
	wantStored := 3 * wantLogical
	wait("bucket counts after the uploads", 20*time.Second, fmt.Sprintf(`(() => {
		const d = document.querySelector('#bucket-data td[data-objects]'), p = document.querySelector('#bucket-photos td[data-objects]');
		return d?.dataset.objects === '16' && document.querySelector('#bucket-data td[data-logical]')?.dataset.logical === '%d' &&
			document.querySelector('#bucket-data td[data-stored]')?.dataset.stored === '%d' && p?.dataset.objects === '0'; })()`, wantLogical, wantStored))
	shot("buckets")

	// Create a user and a key; the secret is shown once and is real.
	run("create a user and a key", 15*time.Second,
		chromedp.Navigate(base+"/access"),
		chromedp.WaitVisible(chromedp.ID("user-name")),
		chromedp.SendKeys(chromedp.ID("user-name"), "alice"),
		chromedp.Click(chromedp.ID("create-user")),
		chromedp.WaitReady(chromedp.CSS(`#key-user option[value="alice"]`)),
		chromedp.SetValue(chromedp.ID("key-user"), "alice"),
		chromedp.Click(chromedp.ID("create-key")),
		chromedp.WaitVisible(chromedp.ID("new-secret-key")),
	)
	access := value(b, "new access key", 5*time.Second, chromedp.Text(chromedp.ID("new-access-key")))
	secret := value(b, "new secret key", 5*time.Second, chromedp.Text(chromedp.ID("new-secret-key")))
	k, err := admin.Key(ctx, access)
	if err != nil || k.SecretKey != secret || k.User != "alice" {
		t.Fatalf("key made in the UI: %+v, %v", k, err)
	}
	shot("access")

	// Decommission a server, through its confirmation page.
	run("decommission", 15*time.Second,
		chromedp.Navigate(base+"/servers/cs4/decommission"),
		chromedp.WaitVisible(chromedp.ID("confirm")),
		chromedp.SendKeys(chromedp.ID("confirm"), "cs4"),
		chromedp.Click(chromedp.CSS(`button.danger`)),
		chromedp.WaitVisible(chromedp.CSS(`#server-cs4 td[data-state="draining"]`)),
	)
	shot("servers")
	checkContrast(t, b, "chunk servers")
	run("masters", 10*time.Second, chromedp.Navigate(base+"/masters"), chromedp.WaitVisible(chromedp.CSS(`table`)))
	shot("masters")
	run("events", 10*time.Second, chromedp.Navigate(base+"/events"), chromedp.WaitVisible(chromedp.ID("events")))
	shot("events")
	run("gateways", 10*time.Second, chromedp.Navigate(base+"/gateways"), chromedp.WaitVisible(chromedp.CSS(`#gateways tbody tr[id^="gateway-"]`)))
	shot("gateways")

	checkAccessibility(t, b, base)
}

// tab runs steps in the browser tab, each under its own deadline; a
// failed step fails the test with the page's HTML.
type tab struct {
	t   *testing.T
	ctx context.Context
}

func (b *tab) fail(step string, err error) {
	b.t.Helper()
	html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	b.t.Fatalf("%s: %v\npage:\n%s", step, err, html)
}

func (b *tab) run(step string, timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(step, err)
	}
}

// wait polls a JavaScript condition in the page until it holds, for at
// most timeout.
func (b *tab) wait(step string, timeout time.Duration, cond string) {
	b.t.Helper()
	value(b, step, timeout+time.Second, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond)))
}

func value[T any](b *tab, step string, timeout time.Duration, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail(step, err)
	}
	return v
}

// checkAccessibility checks, on every page, that each visible input has a
// label, and that Tab alone reaches every link, button and input of the
// page.
func checkAccessibility(t *testing.T, b *tab, base string) {
	t.Helper()
	for _, p := range []string{"/", "/masters", "/servers", "/gateways", "/buckets", "/access", "/events"} {
		b.run("open "+p, 10*time.Second, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS("main")))
		unlabelled := value(b, "labels on "+p, 5*time.Second, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea')).filter(e => e.labels.length === 0 && !e.getAttribute('aria-label')).map(e => e.outerHTML)`))
		if len(unlabelled) > 0 {
			t.Errorf("%s: inputs without a label: %v", p, unlabelled)
		}
		want := value(b, "count controls on "+p, 5*time.Second, chromedp.Evaluate[int](`(() => {
			const els = Array.from(document.querySelectorAll('a[href], button, input:not([type=hidden]), select'));
			els.forEach((e, i) => e.setAttribute('data-kb', String(i)));
			window.granaryReached = new Set();
			document.addEventListener('focusin', ev => { const k = ev.target.getAttribute('data-kb'); if (k !== null) window.granaryReached.add(k); });
			return els.length; })()`))
		reached := 0
		for i := 0; i < want+5 && reached < want; i++ {
			b.run("tab on "+p, 5*time.Second, chromedp.KeyEvent("\t"))
			reached = value(b, "focus on "+p, 5*time.Second, chromedp.Evaluate[int](`window.granaryReached.size`))
		}
		if reached < want {
			missed := value(b, "missed on "+p, 5*time.Second, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('[data-kb]')).filter(e => !window.granaryReached.has(e.getAttribute('data-kb'))).map(e => e.outerHTML)`))
			t.Errorf("%s: %d of %d controls reachable by Tab; missed: %v", p, reached, want, missed)
		}
	}
}

// checkContrast checks the status colours as the browser computed them:
// text on its background at least 4.5:1 (WCAG AA).
func checkContrast(t *testing.T, b *tab, page string) {
	t.Helper()
	els := value(b, "colours on "+page, 5*time.Second, chromedp.Evaluate[[][]string](`Array.from(document.querySelectorAll('.verdict, .st, .ev-ok, .ev-warn, .ev-bad, .flash, .error')).map(e => { const s = getComputedStyle(e); return [e.className, s.color, s.backgroundColor]; })`))
	if len(els) == 0 {
		t.Fatalf("%s: no status element", page)
	}
	for _, e := range els {
		fg, okf := cssRGB(e[1])
		bg, okb := cssRGB(e[2])
		if !okf || !okb {
			t.Errorf("%s: %s: colours %q on %q", page, e[0], e[1], e[2])
			continue
		}
		if r := contrast(fg, bg); r < 4.5 {
			t.Errorf("%s: %s: %s on %s has contrast %.2f < 4.5", page, e[0], e[1], e[2], r)
		}
	}
}

// cssRGB turns a computed "rgb(r, g, b)" into "#rrggbb"; transparent and
// other forms are not understood.
func cssRGB(v string) (string, bool) {
	var r, g, bl int
	if n, err := fmt.Sscanf(v, "rgb(%d, %d, %d)", &r, &g, &bl); n != 3 || err != nil {
		return "", false
	}
	return fmt.Sprintf("#%02x%02x%02x", r, g, bl), true
}

// newBrowser starts headless Chromium (without its sandbox: the tests run
// as root in a container); it stops when ctx ends or the test cleans up.
func newBrowser(ctx context.Context, t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.Headless,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 1000),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	return bctx
}

// putObjects writes a few chunked objects so that a dead server leaves
// chunks under-replicated.
func putObjects(ctx context.Context, t *testing.T, c *testcluster.Cluster) {
	t.Helper()
	cl := c.DataClient(nil)
	if err := cl.CreateBucket(ctx, "data"); err != nil {
		t.Fatal(err)
	}
	payload := bytes.Repeat([]byte("granary "), 8<<10) // 64 KiB: above the inline threshold
	for i := range 6 {
		if _, err := cl.Put(ctx, "data", fmt.Sprintf("obj-%d", i), bytes.NewReader(payload), int64(len(payload)), nil); err != nil {
			t.Fatal(err)
		}
	}
}

// startGateway runs an S3 gateway on the cluster that reports to the
// master every 200 ms, and returns an S3 client of it signed with key.
func startGateway(ctx context.Context, t *testing.T, c *testcluster.Cluster, key client.AccessKey) *minio.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := gateway.DefaultConfig()
	cfg.Masters, cfg.ClusterSecret, cfg.Listener = c.Addrs(), testcluster.Secret, ln
	cfg.RootAccessKey, cfg.RootSecretKey = key.AccessKey, key.SecretKey
	cfg.ReportInterval = 200 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	gctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- gw.Run(gctx) }()
	t.Cleanup(func() { cancel(); <-done })
	mc, err := minio.New(gw.Addr(), &minio.Options{Creds: credentials.NewStaticV4(key.AccessKey, key.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return mc
}
