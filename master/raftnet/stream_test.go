package raftnet

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/pki"
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

// TestReplayRefused captures a member's handshake on a listener that
// plays the Stream's side, then replays it to a real member: the member's
// fresh challenge makes the captured proof worthless. A version 1
// handshake (no challenge) is refused too.
func TestReplayRefused(t *testing.T) {
	a, b := listen(t, "secret"), listen(t, "secret")
	accepted := acceptor(b)

	spy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer spy.Close()
	captured := make(chan []byte, 1)
	go func() {
		c, err := spy.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		challenge := append([]byte("GRNR\x02"), make([]byte, nonceLen)...)
		c.Write(challenge)
		hello := make([]byte, 4+1+nonceLen+macLen+2+len(a.Addr().String()))
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		io.ReadFull(c, hello)
		captured <- hello
	}()
	if _, err := a.Dial(raft.ServerAddress(spy.Addr().String()), 2*time.Second); err == nil {
		t.Fatal("the dialer accepted a listener that could not answer its nonce")
	}
	hello := <-captured

	// The spy now owns a real hello for the all-zero challenge; b sends
	// another challenge, so replaying it gets the connection closed.
	for name, msg := range map[string][]byte{
		"replayed version 2": hello,
		"version 1":          v1Hello("secret", a.Addr().String()),
	} {
		c, err := net.Dial("tcp", b.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		challenge := make([]byte, 5+nonceLen)
		if _, err := io.ReadFull(c, challenge); err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(challenge[5:], make([]byte, nonceLen)) {
			t.Fatal("the challenge is not random")
		}
		c.Write(msg)
		if n, err := c.Read(make([]byte, 64)); err == nil {
			t.Errorf("%s: the member answered %d bytes", name, n)
		}
		c.Close()
		select {
		case in := <-accepted:
			in.Close()
			t.Fatalf("%s: the member accepted the connection", name)
		default:
		}
	}
	// The real thing still works.
	if err := exchange(a, b, accepted); err != nil {
		t.Fatal(err)
	}
}

// v1Hello is the old, replayable handshake.
func v1Hello(secret, addr string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	io.WriteString(m, "granary-raft:"+addr)
	hello := append([]byte("GRNR\x01"), m.Sum(nil)...)
	hello = binary.BigEndian.AppendUint16(hello, uint16(len(addr)))
	return append(hello, addr...)
}

// TestTLS runs the stream over mutual TLS with certificates from a
// cluster CA: members get through, a peer with the secret but a
// certificate from another CA does not, nor one with no certificate.
func TestTLS(t *testing.T) {
	ours, theirs := certDir(t, "a", "b"), certDir(t, "x")
	a, b := listenTLS(t, "secret", ours["a"]), listenTLS(t, "secret", ours["b"])
	accepted := acceptor(b)
	if err := exchange(a, b, accepted); err != nil {
		t.Fatalf("members with certificates: %v", err)
	}
	if err := exchange(listenTLS(t, "secret", theirs["x"]), b, accepted); err == nil {
		t.Fatal("a peer with another CA's certificate got through")
	}
	server, _, err := pki.LoadCluster(ours["a"], nil)
	if err != nil {
		t.Fatal(err)
	}
	noCert := server.Clone()
	noCert.GetClientCertificate = nil
	if err := exchange(listenWith(t, Config{Secret: "secret", TLS: noCert}), b, accepted); err == nil {
		t.Fatal("a peer without a certificate got through")
	}
	if err := exchange(listen(t, "secret"), b, accepted); err == nil {
		t.Fatal("a plain TCP peer got through")
	}
}

func certDir(t *testing.T, names ...string) map[string]pki.Files {
	t.Helper()
	dir := t.TempDir()
	ca, err := pki.InitDir(dir, "test CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]pki.Files{}
	for _, n := range names {
		if out[n], err = ca.IssueFile(dir, n, []string{"127.0.0.1"}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func listenTLS(t *testing.T, secret string, f pki.Files) *Stream {
	t.Helper()
	server, _, err := pki.LoadCluster(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	return listenWith(t, Config{Secret: secret, TLS: server})
}

func listenWith(t *testing.T, cfg Config) *Stream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener, cfg.Self = ln, ln.Addr().String()
	s := Open(cfg)
	t.Cleanup(func() { s.Close() })
	return s
}
