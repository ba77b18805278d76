package rpc

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// Config says how one process calls others and checks their calls. The
// zero value is plain http with an empty secret. A Config is a value:
// safe to copy and to use concurrently.
type Config struct {
	// Secret is the cluster secret, sent as a bearer credential on every
	// outgoing call and required on incoming ones.
	Secret string
	// Insecure turns Authenticate off: incoming calls are accepted
	// without a credential. Outgoing calls still carry Secret.
	Insecure bool
	// TLS, when set, makes calls use https with this configuration, and
	// Listener serve TLS with it; nil means plain http. A process that
	// both serves and calls uses one configuration for both sides (the
	// server side of pki.LoadCluster carries the client fields too): it
	// then requires a client certificate from the cluster CA on what it
	// serves, and presents its own on what it calls. A caller that only
	// calls uses pki.LoadCluster's client side. The secret stays required
	// either way: TLS adds to it, it does not replace it.
	TLS *tls.Config
}

// Scheme returns "https" when the config has TLS, "http" otherwise.
func (c Config) Scheme() string {
	if c.TLS != nil {
		return "https"
	}
	return "http"
}

// URL returns the address of path (which may carry a query) on the process
// at addr (host:port).
func (c Config) URL(addr, path string) string {
	return c.Scheme() + "://" + addr + path
}

// Authorize sets the bearer credential on an outgoing request.
func (c Config) Authorize(req *http.Request) {
	req.Header.Set("Authorization", c.credential())
}

func (c Config) credential() string { return "Bearer " + c.Secret }

// NewRequest returns an authorized request for path on the process at
// addr.
func (c Config) NewRequest(ctx context.Context, method, addr, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.URL(addr, path), body)
	if err != nil {
		return nil, err
	}
	c.Authorize(req)
	return req, nil
}

// Authenticate passes on the requests that carry the cluster secret
// (compared in constant time) and answers every other one 401 with a
// proto.Error body (CodeUnauthorized). With Insecure it passes on every
// request as far as the secret goes. With TLS, it also requires that the
// request came over TLS with a verified client certificate (Insecure or
// not): a listener that only verifies certificates when given (a
// master's, which also serves the dashboard to browsers) leaves the
// requirement to this check. A request it passes on carries the caller's
// request id (reqid.Header, when valid) in its context.
func (c Config) Authenticate(next http.Handler) http.Handler {
	want := []byte(c.credential())
	insecure, needCert := c.Insecure, c.TLS != nil
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if needCert && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0) {
			WriteError(w, NoCertificate())
			return
		}
		if !insecure && subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			WriteError(w, Unauthorized())
			return
		}
		next.ServeHTTP(w, withRequestID(r))
	})
}

// Unauthorized returns the answer to a call without the cluster secret.
func Unauthorized() *proto.Error {
	return &proto.Error{Code: proto.CodeUnauthorized, Message: "missing or wrong cluster secret", Status: http.StatusUnauthorized}
}

// NoCertificate returns the answer to a call without a client certificate
// from the cluster CA, where cluster TLS is on.
func NoCertificate() *proto.Error {
	return &proto.Error{Code: proto.CodeUnauthorized, Message: "no client certificate from the cluster CA", Status: http.StatusUnauthorized}
}

// Listener returns ln, wrapped to serve TLS when the config has it.
func (c Config) Listener(ln net.Listener) net.Listener {
	if c.TLS == nil {
		return ln
	}
	return tls.NewListener(ln, c.TLS)
}

// ErrorLog adapts logger for http.Server.ErrorLog, at Debug: refused TLS
// handshakes (a caller without a cluster certificate, a port scanner)
// and broken connections are the peer's problem, which its own error
// names.
func ErrorLog(logger *slog.Logger) *log.Logger {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return slog.NewLogLogger(logger.Handler(), slog.LevelDebug)
}

// WriteError writes e as a JSON error body with e.Status.
func WriteError(w http.ResponseWriter, e *proto.Error) {
	WriteJSON(w, e.Status, e)
}

// WriteJSON writes v as a JSON body with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Timeouts and pool sizes of the clients NewClient builds.
const (
	DialTimeout         = 5 * time.Second
	KeepAlive           = 30 * time.Second
	TLSHandshakeTimeout = 10 * time.Second
	IdleConnTimeout     = 90 * time.Second
	// DefaultMaxIdleConnsPerHost is ClientOptions.MaxIdleConnsPerHost's
	// default.
	DefaultMaxIdleConnsPerHost = 64
)

// ClientOptions tune NewClient for one caller; the zero value takes the
// defaults.
type ClientOptions struct {
	// ResponseHeaderTimeout bounds the wait for an answer's headers once
	// the request is sent (0: no bound).
	ResponseHeaderTimeout time.Duration
	// MaxIdleConnsPerHost sizes the idle pool per peer (0:
	// DefaultMaxIdleConnsPerHost).
	MaxIdleConnsPerHost int
	// InProcess maps addresses (host:port, as called) to the handler that
	// serves them in this process: calls to them are answered by it
	// without a socket (see InProcess). Every other address is called
	// over the network.
	InProcess map[string]http.Handler
}

// NewClient returns an *http.Client for calls between Granary processes:
// bounded dial, TLS handshake and (per opts) response-header waits, but no
// overall timeout, since bodies stream; callers bound a call with its ctx.
// Every call carries the request id of its context (reqid.From) in
// reqid.Header. The client is safe for concurrent use; share one per
// process role.
func NewClient(c Config, opts ClientOptions) *http.Client {
	if opts.MaxIdleConnsPerHost <= 0 {
		opts.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	return &http.Client{Transport: &transport{base: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: DialTimeout, KeepAlive: KeepAlive}).DialContext,
		TLSClientConfig:       c.TLS,
		TLSHandshakeTimeout:   TLSHandshakeTimeout,
		ResponseHeaderTimeout: opts.ResponseHeaderTimeout,
		MaxIdleConnsPerHost:   opts.MaxIdleConnsPerHost,
		IdleConnTimeout:       IdleConnTimeout,
		DisableCompression:    true,
	}, local: opts.InProcess}}
}
