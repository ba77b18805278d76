package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

const (
	sessionCookie = "granary_session"
	loginCookie   = "granary_login" // double-submit token of the login form
	csrfField     = "csrf"
)

// session is one login. Token and CSRF are random and never logged.
type session struct {
	token     string
	csrf      string
	user      string
	accessKey string
	expires   time.Time

	mu    sync.Mutex
	flash string // shown once, on the next page
}

func (ss *session) setFlash(msg string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.flash = msg
}

func (ss *session) takeFlash() string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	msg := ss.flash
	ss.flash = ""
	return msg
}

// sessions is the in-memory session store; safe for concurrent use.
type sessions struct {
	mu    sync.Mutex
	byTok map[string]*session
	max   int
	ttl   time.Duration
}

func newSessions(max int, ttl time.Duration) *sessions {
	return &sessions{byTok: map[string]*session{}, max: max, ttl: ttl}
}

// create starts a session for user, dropping expired ones and, when full,
// the one closest to expiry.
func (s *sessions) create(user, accessKey string, now time.Time) *session {
	ss := &session{token: randomToken(), csrf: randomToken(), user: user, accessKey: accessKey, expires: now.Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	var oldest *session
	for tok, o := range s.byTok {
		if !now.Before(o.expires) {
			delete(s.byTok, tok)
		} else if oldest == nil || o.expires.Before(oldest.expires) {
			oldest = o
		}
	}
	if len(s.byTok) >= s.max && oldest != nil {
		delete(s.byTok, oldest.token)
	}
	s.byTok[ss.token] = ss
	return ss
}

// lookup returns the live session of r's cookie, or nil.
func (s *sessions) lookup(r *http.Request, now time.Time) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.byTok[c.Value]
	if ss == nil {
		return nil
	}
	if !now.Before(ss.expires) {
		delete(s.byTok, c.Value)
		return nil
	}
	return ss
}

func (s *sessions) remove(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byTok, tok)
}

// removeKey ends every session logged in with accessKey (revoked).
func (s *sessions) removeKey(accessKey string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for tok, ss := range s.byTok {
		if ss.accessKey == accessKey {
			delete(s.byTok, tok)
			n++
		}
	}
	return n
}

// validCSRF reports whether the form's token is the session's.
func (ss *session) validCSRF(r *http.Request) bool {
	got := r.PostFormValue(csrfField)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(ss.csrf)) == 1
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// setCookie writes a dashboard cookie: HttpOnly, SameSite=Strict, Secure
// over TLS, lasting ttl; a ttl of zero or less deletes it.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, ttl time.Duration) {
	c := &http.Cookie{
		Name: name, Value: value, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
		MaxAge: max(int(ttl/time.Second), 1),
	}
	if ttl <= 0 {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}
