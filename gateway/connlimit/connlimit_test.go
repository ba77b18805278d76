package connlimit

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// pipeListener hands out the server ends of pipes queued on it.
type pipeListener struct{ conns chan net.Conn }

func (p *pipeListener) Accept() (net.Conn, error) {
	c, ok := <-p.conns
	if !ok {
		return nil, errors.New("closed")
	}
	return c, nil
}
func (p *pipeListener) Close() error   { return nil }
func (p *pipeListener) Addr() net.Addr { return &net.TCPAddr{} }

// dial queues a new connection and returns the server end as accepted.
func dial(t *testing.T, l *Listener, p *pipeListener) net.Conn {
	t.Helper()
	server, client := net.Pipe()
	t.Cleanup(func() { client.Close() })
	p.conns <- server
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// closed reports whether c has been closed: a write past an expired
// deadline fails at once, with io.ErrClosedPipe only when it is.
func closed(c net.Conn) bool {
	c.SetWriteDeadline(time.Now())
	_, err := c.Write([]byte{0})
	return errors.Is(err, io.ErrClosedPipe)
}

func TestEvictsOldestIdle(t *testing.T) {
	p := &pipeListener{conns: make(chan net.Conn, 4)}
	l := New(p, 2)
	busy := dial(t, l, p)
	idle := dial(t, l, p)
	done := Serving(ConnContext(context.Background(), busy))
	defer done()
	dial(t, l, p)
	if !closed(idle) {
		t.Fatal("the idle connection was not evicted")
	}
	if closed(busy) {
		t.Fatal("the busy connection was evicted")
	}
	if n := l.Open(); n != 2 {
		t.Fatalf("open = %d, want 2", n)
	}
}

func TestRefusesWhenAllBusy(t *testing.T) {
	p := &pipeListener{conns: make(chan net.Conn, 4)}
	l := New(p, 1)
	busy := dial(t, l, p)
	done := Serving(ConnContext(context.Background(), busy))
	defer done()
	refused, client := net.Pipe()
	defer client.Close()
	p.conns <- refused
	close(p.conns)
	if _, err := l.Accept(); err == nil {
		t.Fatal("a connection was admitted past the bound")
	}
	if !closed(refused) {
		t.Fatal("the refused connection is open")
	}
	if closed(busy) || l.Open() != 1 {
		t.Fatal("the busy connection was evicted")
	}
}
