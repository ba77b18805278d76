package raftnet

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func listen(t *testing.T, secret string) *Stream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(ln, ln.Addr().String(), secret, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { s.Close() })
	return s
}

// acceptor hands b's accepted connections to a channel until b closes.
func acceptor(b *Stream) <-chan net.Conn {
	ch := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := b.Accept()
			if err != nil {
				return
			}
			ch <- c
		}
	}()
	return ch
}

// exchange dials from a to b and passes one byte across.
func exchange(a, b *Stream, accepted <-chan net.Conn) error {
	c, err := a.Dial(raft.ServerAddress(b.Addr().String()), 2*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte{7}); err != nil {
		return err
	}
	select {
	case in := <-accepted:
		defer in.Close()
		buf := make([]byte, 1)
		in.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := io.ReadFull(in, buf); err != nil || buf[0] != 7 {
			return io.ErrUnexpectedEOF
		}
		return nil
	case <-time.After(time.Second):
		return io.ErrNoProgress
	}
}

func TestHandshake(t *testing.T) {
	a, b, stranger := listen(t, "secret"), listen(t, "secret"), listen(t, "another secret")
	accepted := acceptor(b)
	if err := exchange(a, b, accepted); err != nil {
		t.Fatalf("members with the secret: %v", err)
	}
	if err := exchange(stranger, b, accepted); err == nil {
		t.Fatal("a peer without the secret got through")
	}
	b.SetBlocked([]string{a.Addr().String()})
	if err := exchange(a, b, accepted); err == nil {
		t.Fatal("a blocked peer got through")
	}
	b.SetBlocked(nil)
	if err := exchange(a, b, accepted); err != nil {
		t.Fatalf("after unblocking: %v", err)
	}
}
