package web

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// csp allows the dashboard's own scripts, styles and fetches only: no
// inline script or style, no other origin, no framing.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Handler serves the dashboard. It is safe for concurrent use and holds
// no goroutine, so it needs no closing.
type Handler struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	sessions *sessions
	throttle *throttle
	track    *tracker
	pages    map[string]*template.Template
	mux      http.Handler
}

// New returns the dashboard for cfg.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, now: cfg.Now}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.log = h.log.With("component", "web")
	if h.now == nil {
		h.now = time.Now
	}
	h.sessions = newSessions(cfg.MaxSessions, cfg.SessionTTL)
	h.throttle = newThrottle()
	h.track = newTracker(&cfg, h.log, h.now)
	var err error
	if h.pages, err = parsePages(); err != nil {
		return nil, err
	}
	h.mux = h.routes()
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	mux.Handle("GET /static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		files.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /login", h.getLogin)
	mux.HandleFunc("POST /login", h.postLogin)
	page := func(pattern string, f func(http.ResponseWriter, *http.Request, *session)) {
		mux.Handle(pattern, h.authed(f))
	}
	page("POST /logout", h.postLogout)
	page("GET /{$}", h.getOverview)
	page("GET /masters", h.getMasters)
	page("GET /servers", h.getServers)
	page("GET /servers/{id}/decommission", h.getDecommission)
	page("POST /servers/{id}/decommission", h.postDecommission)
	page("GET /buckets", h.getBuckets)
	page("POST /buckets", h.postBucket)
	page("POST /buckets/{name}/delete", h.postDeleteBucket)
	page("GET /access", h.getAccess)
	page("POST /access/users", h.postUser)
	page("POST /access/keys", h.postKey)
	page("POST /access/keys/revoke", h.postRevokeKey)
	page("GET /events", h.getEvents)
	page("GET /gateways", h.getGateways)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, r, nil, http.StatusNotFound, "no such page: "+r.URL.Path)
	})
	return http.NewCrossOriginProtection().Handler(mux)
}

// authed lets f run for a live session only; a POST must also carry the
// session's CSRF token. A page request without a session is sent to the
// login page, a fragment request gets 401 (the script then reloads).
func (h *Handler) authed(f func(http.ResponseWriter, *http.Request, *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss := h.sessions.lookup(r, h.now())
		if ss == nil {
			if r.Method != http.MethodGet || isFragment(r) {
				h.renderError(w, r, nil, http.StatusUnauthorized, "not logged in, or the session expired")
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if !ss.validCSRF(r) {
				h.log.Warn("dashboard: refused a POST", "path", r.URL.Path, "user", ss.user, "err", ErrCSRF)
				h.renderError(w, r, ss, http.StatusForbidden, ErrCSRF.Error())
				return
			}
		}
		f(w, r, ss)
	})
}

func isFragment(r *http.Request) bool { return r.URL.Query().Get("fragment") == "1" }

// call runs one action on the cluster under the call timeout.
func (h *Handler) call(ctx context.Context, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.CallTimeout)
	defer cancel()
	return f(ctx)
}

// page is what every page template gets.
type page struct {
	Title   string
	Path    string
	User    string
	CSRF    string
	Flash   string
	Error   string
	Now     time.Time
	V       view
	Verdict verdict
	Data    any // the page's own data
}

// render writes the page tmpl for ss (nil for the login page): the whole
// document, or only its live part for a fragment request.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, ss *session, status int, tmpl string, p page) {
	p.Path, p.Now = r.URL.Path, h.now()
	if p.V.snapshot == nil { // pages that show no cluster data
		p.V.snapshot = &snapshot{At: p.Now}
	}
	if ss != nil {
		p.User, p.CSRF = ss.user, ss.csrf
	}
	name := "layout"
	if isFragment(r) {
		name = "fragment"
	}
	t := h.pages[tmpl]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, p); err != nil {
		h.log.Error("dashboard: render", "page", tmpl, "err", err)
		http.Error(w, "render error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, ss *session, status int, msg string) {
	h.render(w, r, ss, status, "error", page{Title: http.StatusText(status), Error: msg})
}
