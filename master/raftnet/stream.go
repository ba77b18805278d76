// Package raftnet is the master's Raft transport underneath
// hashicorp/raft's network transport: TCP with an authenticating
// handshake, and links that tests and drills can cut (SetBlocked).
package raftnet

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// Stream is Raft's TCP stream layer with a short handshake in front of
// every connection:
//
//	"GRNR" | version (1) | HMAC-SHA256(secret, "granary-raft:"+addr) (32) |
//	len(addr) (2, big endian) | addr (the dialer's advertised Raft address)
//
// The MAC keeps peers without the cluster secret out of the Raft group, and
// the advertised address lets either side refuse links to blocked peers,
// which is how tests and drills cut a member off (SetBlocked).
type Stream struct {
	ln     net.Listener
	self   string
	secret []byte
	log    *slog.Logger

	accepted chan net.Conn
	done     chan struct{}
	wg       sync.WaitGroup

	mu      sync.Mutex
	blocked map[string]bool // "*" blocks every peer
	conns   map[net.Conn]string
	closed  bool
}

const handshakeTimeout = 3 * time.Second

var errBlocked = errors.New("link blocked")

// New serves Raft connections on ln for the member whose advertised Raft
// address is self, admitting only peers that prove they hold secret. It
// owns ln and its accept loop until Close.
func New(ln net.Listener, self, secret string, logger *slog.Logger) *Stream {
	s := &Stream{
		ln: ln, self: self, secret: []byte(secret), log: logger,
		accepted: make(chan net.Conn), done: make(chan struct{}),
		blocked: map[string]bool{}, conns: map[net.Conn]string{},
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s
}

func (s *Stream) mac(addr string) []byte {
	m := hmac.New(sha256.New, s.secret)
	io.WriteString(m, "granary-raft:"+addr)
	return m.Sum(nil)
}

func (s *Stream) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.done:
				return
			default:
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			s.log.Debug("raft accept", "err", err)
			return
		}
		s.wg.Add(1)
		go s.handshake(c)
	}
}

// handshake checks an incoming connection and hands it to Accept.
func (s *Stream) handshake(c net.Conn) {
	defer s.wg.Done()
	c.SetReadDeadline(time.Now().Add(handshakeTimeout))
	peer, err := s.readHello(c)
	c.SetReadDeadline(time.Time{})
	if err == nil && !s.track(c, peer) {
		err = errBlocked
	}
	if err != nil {
		s.log.Debug("raft connection refused", "remote", c.RemoteAddr().String(), "err", err)
		c.Close()
		return
	}
	select {
	case s.accepted <- &trackedConn{Conn: c, s: s}:
	case <-s.done:
		c.Close()
	}
}

func (s *Stream) readHello(c net.Conn) (string, error) {
	var head [4 + 1 + 32 + 2]byte
	if _, err := io.ReadFull(c, head[:]); err != nil {
		return "", fmt.Errorf("read handshake: %w", err)
	}
	if string(head[:4]) != "GRNR" || head[4] != 1 {
		return "", errors.New("not a granary raft handshake")
	}
	addr := make([]byte, binary.BigEndian.Uint16(head[37:]))
	if _, err := io.ReadFull(c, addr); err != nil {
		return "", fmt.Errorf("read handshake address: %w", err)
	}
	if !hmac.Equal(head[5:37], s.mac(string(addr))) {
		return "", errors.New("wrong cluster secret")
	}
	return string(addr), nil
}

// Accept implements net.Listener.
func (s *Stream) Accept() (net.Conn, error) {
	select {
	case c := <-s.accepted:
		return c, nil
	case <-s.done:
		return nil, net.ErrClosed
	}
}

// Dial implements raft.StreamLayer.
func (s *Stream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	peer := string(address)
	if s.isBlocked(peer) {
		return nil, fmt.Errorf("dial %s: %w", peer, errBlocked)
	}
	c, err := net.DialTimeout("tcp", peer, timeout)
	if err != nil {
		return nil, err
	}
	hello := append([]byte("GRNR\x01"), s.mac(s.self)...)
	hello = binary.BigEndian.AppendUint16(hello, uint16(len(s.self)))
	hello = append(hello, s.self...)
	c.SetWriteDeadline(time.Now().Add(handshakeTimeout))
	if _, err := c.Write(hello); err != nil {
		c.Close()
		return nil, fmt.Errorf("raft handshake with %s: %w", peer, err)
	}
	c.SetWriteDeadline(time.Time{})
	if !s.track(c, peer) {
		c.Close()
		return nil, fmt.Errorf("dial %s: %w", peer, errBlocked)
	}
	return &trackedConn{Conn: c, s: s}, nil
}

func (s *Stream) isBlocked(peer string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blocked["*"] || s.blocked[peer]
}

func (s *Stream) track(c net.Conn, peer string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.blocked["*"] || s.blocked[peer] {
		return false
	}
	s.conns[c] = peer
	return true
}

func (s *Stream) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// SetBlocked replaces the set of peers (Raft addresses, "*" for all) this
// member refuses to talk to, and cuts existing connections to them.
func (s *Stream) SetBlocked(peers []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked = map[string]bool{}
	for _, p := range peers {
		s.blocked[p] = true
	}
	for c, peer := range s.conns {
		if s.blocked["*"] || s.blocked[peer] {
			c.Close()
			delete(s.conns, c)
		}
	}
}

// Close implements net.Listener; it stops the accept loop and waits for it.
func (s *Stream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// Addr implements net.Listener.
// Addr is the advertised Raft address, which Raft hands to peers as this
// member's address (the listener may be bound to all interfaces).
func (s *Stream) Addr() net.Addr { return advertisedAddr(s.self) }

// advertisedAddr is a host:port other members dial.
type advertisedAddr string

func (a advertisedAddr) Network() string { return "tcp" }
func (a advertisedAddr) String() string  { return string(a) }

// trackedConn forgets itself when closed.
type trackedConn struct {
	net.Conn
	s    *Stream
	once sync.Once
}

func (t *trackedConn) Close() error {
	t.once.Do(func() { t.s.untrack(t.Conn) })
	return t.Conn.Close()
}
