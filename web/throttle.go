package web

import (
	"net"
	"net/http"
	"sync"
	"time"
)

const (
	maxLoginFailures = 10              // per client address and window
	loginWindow      = 5 * time.Minute // how long failures count
	maxThrottled     = 10000           // addresses tracked at most
)

// throttle slows password guessing: a client address with too many
// failed logins in a window is refused until the window ends. Safe for
// concurrent use.
type throttle struct {
	mu     sync.Mutex
	byAddr map[string]*strikes
}

type strikes struct {
	n     int
	until time.Time // end of the window that started with the first failure
}

func newThrottle() *throttle { return &throttle{byAddr: map[string]*strikes{}} }

// blocked reports whether r's address may not try now.
func (th *throttle) blocked(r *http.Request, now time.Time) bool {
	th.mu.Lock()
	defer th.mu.Unlock()
	s := th.byAddr[clientAddr(r)]
	return s != nil && now.Before(s.until) && s.n >= maxLoginFailures
}

// fail counts a failed login of r's address.
func (th *throttle) fail(r *http.Request, now time.Time) {
	th.mu.Lock()
	defer th.mu.Unlock()
	addr := clientAddr(r)
	s := th.byAddr[addr]
	if s == nil || !now.Before(s.until) {
		if len(th.byAddr) >= maxThrottled {
			th.prune(now)
		}
		s = &strikes{until: now.Add(loginWindow)}
		th.byAddr[addr] = s
	}
	s.n++
}

// succeed forgets r's address's failures.
func (th *throttle) succeed(r *http.Request) {
	th.mu.Lock()
	defer th.mu.Unlock()
	delete(th.byAddr, clientAddr(r))
}

// prune drops ended windows and, if that is not enough, everything (a
// flood of addresses must not grow the map without bound).
func (th *throttle) prune(now time.Time) {
	for a, s := range th.byAddr {
		if !now.Before(s.until) {
			delete(th.byAddr, a)
		}
	}
	if len(th.byAddr) >= maxThrottled {
		clear(th.byAddr)
	}
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
