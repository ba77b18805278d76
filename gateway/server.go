package gateway

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/sigv4"
	"github.com/granary-store/granary/internal/proto"
)

// Config configures a gateway.
type Config struct {
	// Masters and ClusterSecret reach the cluster.
	Masters       []string
	ClusterSecret string
	// Addr is the listen address; Listener, when set, is used instead.
	Addr     string
	Listener net.Listener
	// RootAccessKey and RootSecretKey, when set, are accepted besides the
	// keys stored in the cluster.
	RootAccessKey, RootSecretKey string
	// Region is the region the gateway reports and accepts in signatures.
	Region string
	// Domain enables virtual-host-style addressing: BUCKET.Domain.
	Domain string
	// MaxSkew is the largest clock difference accepted in signatures.
	MaxSkew time.Duration
	// IdleTimeout cuts a request body or response that moves no bytes for
	// this long (slow or stalled clients).
	IdleTimeout time.Duration
	// HeaderTimeout is the longest a client may take to send a request's
	// headers.
	HeaderTimeout time.Duration
	// MaxConns bounds open client connections (see connLimiter).
	MaxConns int
	// LocalChunks, when set, gives the gateway's client the chunk servers
	// on this host, whose replicas it reads straight from disk
	// (client.Config.Local): granary server sets it for its own.
	LocalChunks func(server string) client.ChunkReader
	// TLS, when set, makes the S3 port serve HTTPS with it (the
	// certificate may come from a GetCertificate that reloads files).
	TLS *tls.Config
	// ClusterTLS, when set, is used for the gateway's calls to masters and
	// chunk servers (mutual TLS with the cluster CA).
	ClusterTLS *tls.Config
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultConfig returns defaults.
func DefaultConfig() Config {
	return Config{Region: "us-east-1", MaxSkew: 15 * time.Minute, IdleTimeout: time.Minute,
		HeaderTimeout: 10 * time.Second, MaxConns: 4096}
}

// Server is an S3 gateway. It is safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	client  *client.Client
	admin   *client.Admin // access keys and master health
	ln      *connLimiter
	http    *http.Server
	metrics *metrics

	mu   sync.Mutex
	keys map[string]cachedKey

	closeOnce sync.Once
	closeErr  error
}

type cachedKey struct {
	secret  string
	until   time.Time
	missing bool // the cluster has no such key
}

// New builds a gateway and binds its listener.
func New(cfg Config) (*Server, error) {
	if len(cfg.Masters) == 0 || cfg.Region == "" || cfg.MaxSkew <= 0 || cfg.IdleTimeout <= 0 ||
		cfg.HeaderTimeout <= 0 || cfg.MaxConns <= 0 {
		return nil, errors.New("gateway: masters, region, max skew, idle and header timeouts and max conns are required")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, keys: map[string]cachedKey{}, metrics: newMetrics()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	if s.client, err = client.New(client.Config{Masters: cfg.Masters, Secret: cfg.ClusterSecret, Logger: s.log, Local: cfg.LocalChunks}); err != nil {
		return nil, err
	}
	s.admin = s.client.Admin()
	ln := cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return nil, fmt.Errorf("gateway: listen: %w", err)
		}
	}
	s.ln = newConnLimiter(ln, cfg.MaxConns)
	return s, nil
}

// Addr returns the listening address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Run serves until ctx ends, then closes the gateway.
func (s *Server) Run(ctx context.Context) error {
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: s.cfg.HeaderTimeout,
		IdleTimeout: s.cfg.IdleTimeout, MaxHeaderBytes: 64 << 10, ConnContext: withConn}
	var ln net.Listener = s.ln
	if s.cfg.TLS != nil {
		ln = tls.NewListener(s.ln, s.cfg.TLS)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()
	s.log.Info("S3 gateway serving", "addr", s.Addr())
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	}
	return errors.Join(err, s.Close())
}

// Close stops the gateway, giving in-flight requests a moment. Idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.http != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			if err := s.http.Shutdown(ctx); err != nil {
				s.http.Close()
			}
			cancel()
		} else {
			s.ln.Close()
		}
		s.closeErr = s.client.Close()
	})
	return s.closeErr
}

type ridKey struct{}

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(ridKey{}).(string)
	return id
}

// routes builds the S3 router: gorilla/mux finds the target from the path
// (matched as sent, no cleaning, so keys such as "a//b" or "x/" keep their
// slashes) and dispatch finds the operation in the ops table.
func (s *Server) routes() http.Handler {
	r := mux.NewRouter().SkipClean(true)
	r.Path("/").HandlerFunc(s.dispatch(onService))
	r.Path("/{bucket}").HandlerFunc(s.dispatch(onBucket))
	r.Path("/{bucket}/").HandlerFunc(s.dispatch(onBucket))
	r.Path(`/{bucket}/{key:[\s\S]+}`).HandlerFunc(s.dispatch(onObject))
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errorf(ErrInvalidURI, "couldn't parse the specified URI"))
	})
	return s.front(r)
}

// HealthPath answers unauthenticated health probes (container health
// checks, load balancers). No bucket can be named "-", so it shadows no
// S3 path.
const HealthPath = "/-/health"

// health answers 200 when some master answers its health probe within two
// seconds, 503 otherwise.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var lastErr error
	for _, addr := range s.cfg.Masters {
		if _, err := s.admin.Health(ctx, addr); err != nil {
			lastErr = err
			continue
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
		return
	}
	http.Error(w, fmt.Sprintf("no master answers: %v", lastErr), http.StatusServiceUnavailable)
}

// front assigns a request id, maps virtual-host-style requests to paths,
// and authenticates every request but a CORS preflight (OPTIONS).
func (s *Server) front(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer serving(r.Context())()
		raw := make([]byte, 8)
		rand.Read(raw)
		id := strings.ToUpper(hex.EncodeToString(raw))
		r = r.WithContext(context.WithValue(r.Context(), ridKey{}, id))
		w.Header().Set("x-amz-request-id", id)
		w.Header().Set("Server", "Granary")
		if r.URL.Path == HealthPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			s.health(w, r)
			return
		}
		if r.URL.Path == MetricsPath && r.Method == http.MethodGet {
			s.metrics.handler().ServeHTTP(w, r)
			return
		}
		w, r, done := s.metrics.begin(w, r)
		defer done()
		// A CORS preflight is never signed; dispatch answers it from the
		// bucket's CORS rules and serves nothing else unsigned.
		if r.Method != http.MethodOptions {
			if err := s.authenticate(r); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		if s.cfg.Domain != "" {
			host, _, _ := strings.Cut(r.Host, ":")
			if bucket, ok := strings.CutSuffix(host, "."+s.cfg.Domain); ok && bucket != "" {
				r.URL.Path = "/" + bucket + r.URL.Path
				r.URL.RawPath = ""
			}
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate verifies the request's signature and wraps its body so
// that the payload is checked as it streams.
func (s *Server) authenticate(r *http.Request) error {
	var sr *sigv4.Request
	var err error
	switch {
	case r.URL.Query().Get("X-Amz-Signature") != "":
		sr, err = sigv4.ParsePresigned(r.URL.Query())
	case r.Header.Get("Authorization") != "":
		sr, err = sigv4.ParseAuthHeader(r)
	default:
		return errorf(ErrAccessDenied, "anonymous access is not allowed")
	}
	if err != nil {
		return err
	}
	if sr.Cred.Region != s.cfg.Region {
		code := ErrAuthorizationHeaderMalformed
		if sr.Presigned {
			code = ErrAuthorizationQueryParametersError
		}
		return errorf(code, "the region '%s' is wrong; expecting '%s'", sr.Cred.Region, s.cfg.Region)
	}
	if err := sigv4.CheckSignedHeaders(r, sr); err != nil {
		return err
	}
	if err := s.checkTime(sr); err != nil {
		return err
	}
	secret, err := s.secretFor(r.Context(), sr.Cred.AccessKey)
	if err != nil {
		return err
	}
	canonical, err := sigv4.CanonicalRequest(r, sr)
	if err != nil {
		return err
	}
	key := sigv4.SigningKey(secret, sr.Cred)
	if want := sigv4.Sign(key, sigv4.StringToSign(canonical, sr)); !hmac.Equal([]byte(want), []byte(sr.Signature)) {
		return errorf(ErrSignatureDoesNotMatch, "the request signature we calculated does not match the signature you provided")
	}
	return sigv4.WrapPayload(r, sr, key, trailerHash)
}

func (s *Server) checkTime(sr *sigv4.Request) error {
	now := s.now()
	if sr.Presigned {
		if now.After(sr.Time.Add(sr.Expires)) {
			return errorf(ErrAccessDenied, "request has expired")
		}
		if sr.Time.Sub(now) > s.cfg.MaxSkew {
			return errorf(ErrRequestTimeTooSkewed, "the request was signed in the future")
		}
		return nil
	}
	if d := now.Sub(sr.Time); d > s.cfg.MaxSkew || -d > s.cfg.MaxSkew {
		return errorf(ErrRequestTimeTooSkewed, "the difference between the request time and the server's time is too large")
	}
	if sr.Time.UTC().Format("20060102") != sr.Cred.Date {
		return errorf(ErrSignatureDoesNotMatch, "credential date does not match the request date")
	}
	return nil
}

// Access keys are cached: found ones for 30 s, unknown ones for 10 s (so
// random keys cannot turn every request into a leader lookup), at most
// maxCachedKeys of them.
const (
	keyTTL        = 30 * time.Second
	missingKeyTTL = 10 * time.Second
	maxCachedKeys = 10000
)

// secretFor returns an access key's secret: the root key, or a key stored
// in the cluster.
func (s *Server) secretFor(ctx context.Context, access string) (string, error) {
	if s.cfg.RootAccessKey != "" && hmac.Equal([]byte(access), []byte(s.cfg.RootAccessKey)) {
		return s.cfg.RootSecretKey, nil
	}
	unknown := errorf(ErrInvalidAccessKeyID, "the access key id you provided does not exist in our records")
	if proto.ValidID("access key", access) != nil {
		return "", unknown
	}
	now := s.now()
	s.mu.Lock()
	k, ok := s.keys[access]
	s.mu.Unlock()
	if ok && now.Before(k.until) {
		if k.missing {
			return "", unknown
		}
		return k.secret, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ak, err := s.admin.Key(ctx, access)
	missing := errors.Is(err, client.ErrNotFound)
	if err != nil && !missing {
		return "", errorf(ErrServiceUnavailable, "cannot check credentials now: %v", err)
	}
	entry := cachedKey{secret: ak.SecretKey, until: now.Add(keyTTL), missing: missing}
	if missing {
		entry.until = now.Add(missingKeyTTL)
	}
	s.cacheKey(access, entry, now)
	if missing {
		return "", unknown
	}
	return ak.SecretKey, nil
}

func (s *Server) cacheKey(access string, k cachedKey, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.keys) >= maxCachedKeys {
		for a, c := range s.keys {
			if !now.Before(c.until) || c.missing {
				delete(s.keys, a)
			}
		}
	}
	if len(s.keys) < maxCachedKeys {
		s.keys[access] = k
	}
}

// translate maps cluster and client errors to S3 errors.
func (s *Server) translate(err error) *apiError {
	msg := err.Error()
	switch {
	case errors.Is(err, client.ErrNoSuchBucket):
		return &apiError{S3Error: ErrNoSuchBucket, Message: "the specified bucket does not exist"}
	case errors.Is(err, client.ErrNoSuchKey):
		return &apiError{S3Error: ErrNoSuchKey, Message: "the specified key does not exist"}
	case errors.Is(err, client.ErrBucketExists):
		return &apiError{S3Error: ErrBucketAlreadyOwnedByYou, Message: "your previous request to create the named bucket succeeded and you already own it"}
	case errors.Is(err, client.ErrBucketNotEmpty):
		return &apiError{S3Error: ErrBucketNotEmpty, Message: "the bucket you tried to delete is not empty"}
	case errors.Is(err, client.ErrPrecondition):
		return &apiError{S3Error: ErrPreconditionFailed, Message: "at least one of the preconditions you specified did not hold"}
	case errors.Is(err, client.ErrTooLarge):
		return &apiError{S3Error: ErrMetadataTooLarge, Message: "metadata exceeds the limit"}
	case errors.Is(err, client.ErrLocked):
		return &apiError{S3Error: ErrAccessDenied, Message: "access Denied because object protected by object lock"}
	case errors.Is(err, client.ErrBadRequest):
		return &apiError{S3Error: ErrInvalidRequest, Message: msg}
	case errors.Is(err, client.ErrNoSuchUpload):
		return &apiError{S3Error: ErrNoSuchUpload, Message: "the specified upload does not exist"}
	case errors.Is(err, client.ErrInvalidPart):
		return &apiError{S3Error: ErrInvalidPart, Message: "one or more of the specified parts could not be found, or their ETags do not match"}
	case errors.Is(err, client.ErrInvalidPartOrder):
		return &apiError{S3Error: ErrInvalidPartOrder, Message: "the list of parts was not in ascending order"}
	case errors.Is(err, client.ErrEntityTooSmall):
		return &apiError{S3Error: ErrEntityTooSmall, Message: "your proposed upload is smaller than the minimum allowed object size"}
	case errors.Is(err, client.ErrNoSpace):
		return &apiError{S3Error: ErrInsufficientStorage, Message: "the cluster has no room for this data; free space or add chunk servers before retrying"}
	case errors.Is(err, client.ErrNotEnoughServers):
		return &apiError{S3Error: ErrServiceUnavailable, Message: "too few chunk servers are live to store the data at its replication; retry when they are back"}
	case errors.Is(err, client.ErrUnavailable):
		return &apiError{S3Error: ErrServiceUnavailable, Message: "please reduce your request rate or retry"}
	case errors.Is(err, client.ErrInvalidName), errors.Is(err, proto.ErrInvalidName):
		return &apiError{S3Error: ErrInvalidArgument, Message: msg}
	case errors.Is(err, client.ErrNoReplica), errors.Is(err, client.ErrCorrupt):
		// The client reports "no good replica" for unreachable and for
		// corrupt replicas alike; both may heal.
		return &apiError{S3Error: ErrServiceUnavailable, Message: "no replica of part of this object can be read right now; retry when its chunk servers are back"}
	case errors.Is(err, client.ErrShortWrite):
		return &apiError{S3Error: ErrIncompleteBody, Message: "you did not provide the number of bytes specified by the Content-Length header"}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &apiError{S3Error: ErrServiceUnavailable, Message: "the request timed out"}
	}
	return &apiError{S3Error: ErrInternal, Message: "we encountered an internal error; please try again"}
}
