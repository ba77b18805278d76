package gateway

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// connLimiter bounds the open client connections. At the bound, a new
// connection evicts the oldest one that is not serving a request (an idle
// keep-alive, or one still trickling in its headers), so clients that hold
// connections open without using them cannot lock out one that does; if
// every connection is serving a request the new one is closed at once.
// Together with the server's header read timeout and idle timeout this
// keeps the gateway answering under a slow-client attack.
type connLimiter struct {
	net.Listener
	max int

	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

func newConnLimiter(ln net.Listener, max int) *connLimiter {
	return &connLimiter{Listener: ln, max: max, conns: make(map[*trackedConn]struct{})}
}

// Accept returns the next connection, making room for it first.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc := &trackedConn{Conn: c, l: l, accepted: time.Now()}
		if victim, ok := l.admit(tc); ok {
			if victim != nil {
				victim.Close()
			}
			return tc, nil
		}
		c.Close()
	}
}

// admit registers tc, choosing a connection to evict when at the bound;
// ok is false when every connection is busy and tc must be refused.
func (l *connLimiter) admit(tc *trackedConn) (victim *trackedConn, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) >= l.max {
		for c := range l.conns {
			if c.busy.Load() == 0 && (victim == nil || c.accepted.Before(victim.accepted)) {
				victim = c
			}
		}
		if victim == nil {
			return nil, false
		}
		delete(l.conns, victim)
	}
	l.conns[tc] = struct{}{}
	return victim, true
}

func (l *connLimiter) forget(tc *trackedConn) {
	l.mu.Lock()
	delete(l.conns, tc)
	l.mu.Unlock()
}

// open returns the number of tracked connections.
func (l *connLimiter) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// trackedConn counts the requests its handlers are serving.
type trackedConn struct {
	net.Conn
	l        *connLimiter
	accepted time.Time
	busy     atomic.Int32
	once     sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.l.forget(c) })
	return c.Conn.Close()
}

type connKey struct{}

// withConn is the http.Server's ConnContext: handlers find their
// connection to mark it busy.
func withConn(ctx context.Context, c net.Conn) context.Context {
	if tl, ok := c.(*tls.Conn); ok {
		c = tl.NetConn()
	}
	if tc, ok := c.(*trackedConn); ok {
		return context.WithValue(ctx, connKey{}, tc)
	}
	return ctx
}

// serving marks the request's connection busy until done is called.
func serving(ctx context.Context) (done func()) {
	tc, ok := ctx.Value(connKey{}).(*trackedConn)
	if !ok {
		return func() {}
	}
	tc.busy.Add(1)
	return func() { tc.busy.Add(-1) }
}
