// Package raftnet is the master's Raft transport underneath
// hashicorp/raft's network transport: TCP (with mutual TLS when
// configured) and an authenticating challenge handshake, and links that
// tests and drills can cut (SetBlocked).
package raftnet

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
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

// Stream is Raft's TCP stream layer. Every connection opens with mutual
// TLS when a TLS configuration is given, and then, inside it, with a
// challenge handshake that proves both ends hold the cluster secret:
//
//	listener -> dialer: "GRNR" | version 2 (1) | challenge (32 random bytes)
//	dialer -> listener: "GRNR" | version 2 (1) | nonce (32 random bytes) |
//	                    HMAC-SHA256(secret, "granary-raft:2:dialer" |
//	                        challenge | nonce | addr) (32) |
//	                    len(addr) (2, big endian) | addr
//	listener -> dialer: HMAC-SHA256(secret, "granary-raft:2:listener" |
//	                        challenge | nonce | addr) (32)
//
// addr is the dialer's advertised Raft address. The listener's fresh
// challenge makes every handshake different, so a captured one cannot be
// replayed; the dialer's nonce does the same for the answer, which tells
// the dialer it reached a member and not an impostor. Version 1 (a MAC of
// the address alone, with no challenge, replayable) is refused: members
// of one cluster must all speak version 2, so an upgrade from a release
// without it restarts all masters together rather than one by one.
//
// The advertised address lets either side refuse links to blocked peers,
// which is how tests and drills cut a member off (SetBlocked).
type Stream struct {
	ln     net.Listener
	self   string
	secret []byte
	tls    *tls.Config
	log    *slog.Logger

	accepted chan net.Conn
	done     chan struct{}
	wg       sync.WaitGroup

	mu      sync.Mutex
	blocked map[string]bool // "*" blocks every peer
	conns   map[net.Conn]string
	closed  bool
}

// Config configures a Stream.
type Config struct {
	// Listener is where peers connect; the Stream owns it until Close.
	Listener net.Listener
	// Self is this member's advertised Raft address.
	Self string
	// Secret is the cluster secret both ends prove they hold.
	Secret string
	// TLS, when set, wraps every connection in TLS before the handshake:
	// accepted ones as a server (require client certificates in it, as
	// pki.LoadCluster's server side does), dialed ones as a client that
	// verifies the peer's certificate for the host it dials and presents
	// its own. Nil means plain TCP.
	TLS *tls.Config
	// Logger receives refused connections at Debug; nil discards.
	Logger *slog.Logger
}

const (
	handshakeTimeout = 3 * time.Second
	version          = 2
	nonceLen         = 32
	macLen           = sha256.Size
)

var magic = [4]byte{'G', 'R', 'N', 'R'}

var (
	errBlocked   = errors.New("link blocked")
	errHandshake = errors.New("not a granary raft handshake (version 2)")
	errSecret    = errors.New("wrong cluster secret")
)

// New serves Raft connections on ln, over plain TCP, for the member whose
// advertised Raft address is self, admitting only peers that prove they
// hold secret. It owns ln and its accept loop until Close.
func New(ln net.Listener, self, secret string, logger *slog.Logger) *Stream {
	return Open(Config{Listener: ln, Self: self, Secret: secret, Logger: logger})
}

// Open serves Raft connections as cfg says; see New.
func Open(cfg Config) *Stream {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Stream{
		ln: cfg.Listener, self: cfg.Self, secret: []byte(cfg.Secret), tls: cfg.TLS, log: cfg.Logger,
		accepted: make(chan net.Conn), done: make(chan struct{}),
		blocked: map[string]bool{}, conns: map[net.Conn]string{},
	}
	s.wg.Add(1)
	go s.acceptLoop()
	return s
}

// mac proves the secret for one side of one handshake.
func (s *Stream) mac(side string, challenge, nonce []byte, addr string) []byte {
	m := hmac.New(sha256.New, s.secret)
	io.WriteString(m, "granary-raft:2:"+side)
	m.Write(challenge)
	m.Write(nonce)
	io.WriteString(m, addr)
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
func (s *Stream) handshake(raw net.Conn) {
	defer s.wg.Done()
	raw.SetDeadline(time.Now().Add(handshakeTimeout))
	c := raw
	if s.tls != nil {
		c = tls.Server(raw, s.tls)
	}
	peer, err := s.answer(c)
	raw.SetDeadline(time.Time{})
	if err == nil && !s.track(raw, peer) {
		err = errBlocked
	}
	if err != nil {
		s.log.Debug("raft connection refused", "remote", raw.RemoteAddr().String(), "err", err)
		raw.Close()
		return
	}
	select {
	case s.accepted <- &trackedConn{Conn: c, raw: raw, s: s}:
	case <-s.done:
		raw.Close()
	}
}

// answer is the listener's side of the handshake; it returns the peer's
// advertised address.
func (s *Stream) answer(c net.Conn) (string, error) {
	challenge := make([]byte, nonceLen)
	rand.Read(challenge)
	if _, err := c.Write(append(magic[:], append([]byte{version}, challenge...)...)); err != nil {
		return "", fmt.Errorf("send challenge: %w", err)
	}
	var head [4 + 1 + nonceLen + macLen + 2]byte
	if _, err := io.ReadFull(c, head[:5]); err != nil {
		return "", fmt.Errorf("read handshake: %w", err)
	}
	if [4]byte(head[:4]) != magic || head[4] != version {
		return "", errHandshake
	}
	if _, err := io.ReadFull(c, head[5:]); err != nil {
		return "", fmt.Errorf("read handshake: %w", err)
	}
	nonce, proof := head[5:5+nonceLen], head[5+nonceLen:5+nonceLen+macLen]
	addr := make([]byte, binary.BigEndian.Uint16(head[len(head)-2:]))
	if _, err := io.ReadFull(c, addr); err != nil {
		return "", fmt.Errorf("read handshake address: %w", err)
	}
	if !hmac.Equal(proof, s.mac("dialer", challenge, nonce, string(addr))) {
		return "", errSecret
	}
	if _, err := c.Write(s.mac("listener", challenge, nonce, string(addr))); err != nil {
		return "", fmt.Errorf("send answer: %w", err)
	}
	return string(addr), nil
}

// greet is the dialer's side of the handshake.
func (s *Stream) greet(c net.Conn) error {
	var head [4 + 1 + nonceLen]byte
	if _, err := io.ReadFull(c, head[:]); err != nil {
		return fmt.Errorf("read challenge: %w", err)
	}
	if [4]byte(head[:4]) != magic || head[4] != version {
		return errHandshake
	}
	challenge := head[5:]
	nonce := make([]byte, nonceLen)
	rand.Read(nonce)
	hello := append(magic[:], version)
	hello = append(hello, nonce...)
	hello = append(hello, s.mac("dialer", challenge, nonce, s.self)...)
	hello = binary.BigEndian.AppendUint16(hello, uint16(len(s.self)))
	hello = append(hello, s.self...)
	if _, err := c.Write(hello); err != nil {
		return fmt.Errorf("send handshake: %w", err)
	}
	answer := make([]byte, macLen)
	if _, err := io.ReadFull(c, answer); err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if !hmac.Equal(answer, s.mac("listener", challenge, nonce, s.self)) {
		return errSecret
	}
	return nil
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
	raw, err := net.DialTimeout("tcp", peer, timeout)
	if err != nil {
		return nil, err
	}
	raw.SetDeadline(time.Now().Add(handshakeTimeout))
	c := raw
	if s.tls != nil {
		cfg := s.tls.Clone()
		if cfg.ServerName, _, err = net.SplitHostPort(peer); err != nil {
			raw.Close()
			return nil, fmt.Errorf("dial %s: %w", peer, err)
		}
		c = tls.Client(raw, cfg)
	}
	if err := s.greet(c); err != nil {
		raw.Close()
		return nil, fmt.Errorf("raft handshake with %s: %w", peer, err)
	}
	raw.SetDeadline(time.Time{})
	if !s.track(raw, peer) {
		raw.Close()
		return nil, fmt.Errorf("dial %s: %w", peer, errBlocked)
	}
	return &trackedConn{Conn: c, raw: raw, s: s}, nil
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

// trackedConn forgets itself when closed. Conn is what Raft reads and
// writes (TLS or raw); raw is the TCP connection, which SetBlocked closes
// to cut the link at once.
type trackedConn struct {
	net.Conn
	raw  net.Conn
	s    *Stream
	once sync.Once
}

func (t *trackedConn) Close() error {
	t.once.Do(func() { t.s.untrack(t.raw) })
	return t.Conn.Close()
}
