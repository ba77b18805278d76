package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/granary-store/granary/client"
)

type loginData struct {
	Next      string
	AccessKey string
}

func (h *Handler) getLogin(w http.ResponseWriter, r *http.Request) {
	if h.sessions.lookup(r, h.now()) != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	h.loginForm(w, r, http.StatusOK, "", loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

// loginForm renders the login page with a fresh double-submit token: the
// same random value in a cookie and in the form.
func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request, status int, msg string, d loginData) {
	tok := randomToken()
	setCookie(w, r, loginCookie, tok, time.Hour)
	h.render(w, r, nil, status, "login", page{Title: "Log in", CSRF: tok, Error: msg, Data: d})
}

func (h *Handler) postLogin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	access := strings.TrimSpace(r.PostFormValue("access_key"))
	secret := r.PostFormValue("secret_key")
	d := loginData{Next: safeNext(r.PostFormValue("next")), AccessKey: access}
	c, err := r.Cookie(loginCookie)
	form := r.PostFormValue(csrfField)
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) != 1 {
		h.loginForm(w, r, http.StatusForbidden, ErrCSRF.Error()+"; try again", d)
		return
	}
	if h.throttle.blocked(r, h.now()) {
		h.log.Warn("dashboard: login throttled", "remote", r.RemoteAddr)
		h.loginForm(w, r, http.StatusTooManyRequests, "too many failed logins from this address; try again in a few minutes", d)
		return
	}
	user, err := h.checkLogin(r.Context(), access, secret)
	if errors.Is(err, ErrBadLogin) {
		h.throttle.fail(r, h.now())
		h.log.Warn("dashboard: login refused", "access_key", access, "remote", r.RemoteAddr)
		h.loginForm(w, r, http.StatusUnauthorized, err.Error(), d)
		return
	}
	if err != nil {
		h.log.Warn("dashboard: login", "err", err)
		h.loginForm(w, r, clientStatus(err), "cannot check the key now: "+err.Error(), d)
		return
	}
	h.throttle.succeed(r)
	ss := h.sessions.create(user, access, h.now())
	setCookie(w, r, sessionCookie, ss.token, h.cfg.SessionTTL)
	setCookie(w, r, loginCookie, "", 0)
	h.log.Info("dashboard: login", "user", user, "access_key", access, "remote", r.RemoteAddr)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

// checkLogin returns the user of a valid admin key pair.
func (h *Handler) checkLogin(ctx context.Context, access, secret string) (string, error) {
	if access == "" || secret == "" {
		return "", ErrBadLogin
	}
	var k client.AccessKey
	err := h.call(ctx, func(ctx context.Context) (err error) { k, err = h.cfg.Cluster.Key(ctx, access); return err })
	if errors.Is(err, client.ErrNotFound) || errors.Is(err, client.ErrInvalidName) || errors.Is(err, client.ErrBadRequest) {
		return "", ErrBadLogin
	}
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(k.SecretKey), []byte(secret)) != 1 || !slices.Contains(h.cfg.AdminUsers, k.User) {
		return "", ErrBadLogin
	}
	return k.User, nil
}

func (h *Handler) postLogout(w http.ResponseWriter, r *http.Request, ss *session) {
	h.sessions.remove(ss.token)
	setCookie(w, r, sessionCookie, "", 0)
	h.log.Info("dashboard: logout", "user", ss.user)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a redirect target on this site: a path, not a URL.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

// clientStatus maps a cluster error to an HTTP status.
func clientStatus(err error) int {
	switch {
	case errors.Is(err, client.ErrBucketExists), errors.Is(err, client.ErrBucketNotEmpty), errors.Is(err, client.ErrConflict), errors.Is(err, client.ErrKeyExists):
		return http.StatusConflict
	case errors.Is(err, client.ErrInvalidName), errors.Is(err, client.ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, client.ErrNotFound), errors.Is(err, client.ErrNoSuchBucket):
		return http.StatusNotFound
	case errors.Is(err, client.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusBadGateway
}
