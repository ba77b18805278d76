// Package connlimit bounds the open connections of a net.Listener. At the
// bound, a new connection evicts the oldest one that is not serving a
// request (an idle keep-alive, or one still trickling in its headers), so
// clients that hold connections open without using them cannot lock out
// one that does; if every connection is serving a request the new one is
// closed at once. Together with an http.Server's header read timeout and
// idle timeout this keeps a server answering under a slow-client attack.
//
// A Listener is safe for concurrent use. The http.Server using it sets
// ConnContext to ConnContext, and each handler marks its connection busy
// with Serving for as long as it serves the request.
package connlimit

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Listener is a net.Listener that keeps at most a bound of connections
// open.
type Listener struct {
	net.Listener
	max int

	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

// New wraps ln to keep at most max connections open.
func New(ln net.Listener, max int) *Listener {
	return &Listener{Listener: ln, max: max, conns: make(map[*trackedConn]struct{})}
}

// Accept returns the next connection, making room for it first.
func (l *Listener) Accept() (net.Conn, error) {
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
func (l *Listener) admit(tc *trackedConn) (victim *trackedConn, ok bool) {
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

func (l *Listener) forget(tc *trackedConn) {
	l.mu.Lock()
	delete(l.conns, tc)
	l.mu.Unlock()
}

// Open returns the number of connections open.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// trackedConn counts the requests its handlers are serving.
type trackedConn struct {
	net.Conn
	l        *Listener
	accepted time.Time
	busy     atomic.Int32
	once     sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.l.forget(c) })
	return c.Conn.Close()
}

type connKey struct{}

// ConnContext is the http.Server's ConnContext: handlers find their
// connection to mark it busy.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if tl, ok := c.(*tls.Conn); ok {
		c = tl.NetConn()
	}
	if tc, ok := c.(*trackedConn); ok {
		return context.WithValue(ctx, connKey{}, tc)
	}
	return ctx
}

// Serving marks the request's connection busy until done is called.
func Serving(ctx context.Context) (done func()) {
	tc, ok := ctx.Value(connKey{}).(*trackedConn)
	if !ok {
		return func() {}
	}
	tc.busy.Add(1)
	return func() { tc.busy.Add(-1) }
}
