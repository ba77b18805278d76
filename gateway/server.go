package gateway

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/authn"
	"github.com/granary-store/granary/gateway/authz"
	"github.com/granary-store/granary/gateway/connlimit"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3metrics"
	"github.com/granary-store/granary/internal/audit"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/reqid"
	"github.com/granary-store/granary/internal/rpc"
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
	// MaxConns bounds open client connections (see gateway/connlimit).
	MaxConns int
	// LocalChunks, when set, gives the gateway's client the chunk servers
	// on this host, whose replicas it reads straight from disk
	// (client.Config.Local): granary server sets it for its own.
	LocalChunks func(server client.NodeID) client.ChunkReader
	// LocalMasters gives the gateway's client the masters in this process
	// (client.Config.LocalMasters): granary server sets its own.
	LocalMasters map[string]http.Handler
	// TLS, when set, makes the S3 port serve HTTPS with it (the
	// certificate may come from a GetCertificate that reloads files).
	TLS *tls.Config
	// ClusterTLS, when set, is used for the gateway's calls to masters and
	// chunk servers (mutual TLS with the cluster CA).
	ClusterTLS *tls.Config
	// AccessLog logs every request at Info when it is answered: request
	// id, operation, method, path (never the query, which may carry a
	// presigned signature), status, bytes, duration, user and source.
	AccessLog bool
	// Audit, when set, receives a record of every request that changes
	// something (and of reads, when it is configured to). The caller
	// opens and closes it.
	Audit *audit.Log
	// AuditLog, when its Path is set and Audit is nil, is the audit log
	// New opens ("-": the Stdout writer) and Close closes.
	AuditLog audit.Config
	// Stdout receives an AuditLog with Path "-" (nil: os.Stdout).
	Stdout io.Writer
	// ReportInterval is how often the gateway sends its traffic counters
	// to the master leader (the dashboard's live S3 rates); zero is 5 s,
	// negative sends none. A report never delays an S3 request.
	ReportInterval time.Duration
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
	ln      *connlimit.Listener
	http    *http.Server
	metrics *s3metrics.Metrics
	report  *s3metrics.Reporter // nil when reports are off

	authn *authn.Authenticator // caches access keys
	authz *authz.Authorizer    // caches bucket records and parsed policies

	ownAudit bool // Close closes cfg.Audit: New opened it

	closeOnce sync.Once
	closeErr  error
}

// New builds a gateway and binds its listener.
func New(cfg Config) (*Server, error) {
	if len(cfg.Masters) == 0 || cfg.Region == "" || cfg.MaxSkew <= 0 || cfg.IdleTimeout <= 0 ||
		cfg.HeaderTimeout <= 0 || cfg.MaxConns <= 0 {
		return nil, errors.New("gateway: masters, region, max skew, idle and header timeouts and max conns are required")
	}
	if cfg.AuditLog.Reads && cfg.AuditLog.Path == "" && cfg.Audit == nil {
		return nil, errors.New("gateway: auditing reads needs an audit log path")
	}
	s := &Server{cfg: cfg, log: cfg.Logger, now: cfg.Now, metrics: s3metrics.New()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	if cfg.Audit == nil && cfg.AuditLog.Path != "" {
		out := cfg.Stdout
		if out == nil {
			out = os.Stdout
		}
		if s.cfg.Audit, err = audit.Open(cfg.AuditLog, out); err != nil {
			return nil, fmt.Errorf("gateway: audit log: %w", err)
		}
		s.ownAudit = true
	}
	fail := func(err error) (*Server, error) {
		if s.ownAudit {
			s.cfg.Audit.Close()
		}
		return nil, err
	}
	if s.client, err = client.New(client.Config{Masters: cfg.Masters, Secret: cfg.ClusterSecret, TLS: cfg.ClusterTLS, Logger: s.log, Local: cfg.LocalChunks, LocalMasters: cfg.LocalMasters}); err != nil {
		return fail(err)
	}
	s.admin = s.client.Admin()
	s.authz = authz.New(records{s.client}, s.now, s.log)
	s.authn = authn.New(authn.Config{Region: cfg.Region, Domain: cfg.Domain, MaxSkew: cfg.MaxSkew,
		RootAccessKey: cfg.RootAccessKey, RootSecretKey: cfg.RootSecretKey, Identities: s.admin,
		ParsePolicy: s.authz.ParsedPolicy, Now: s.now, Log: s.log})
	ln := cfg.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			s.client.Close()
			return fail(fmt.Errorf("gateway: listen: %w", err))
		}
	}
	s.ln = connlimit.New(ln, cfg.MaxConns)
	if cfg.ReportInterval >= 0 {
		s.report = s3metrics.NewReporter(s.admin, s.metrics, s3Class, s.log, s.reportAddr, time.Now(), cfg.ReportInterval)
	}
	return s, nil
}

// reportAddr is the S3 address the gateway reports: its listen address,
// with the host name in place of an unspecified IP.
func (s *Server) reportAddr() string {
	addr := s.Addr()
	host, port, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsUnspecified() {
		if name, err := os.Hostname(); err == nil {
			return net.JoinHostPort(name, port)
		}
	}
	return addr
}

// Addr returns the listening address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Run serves until ctx ends, then closes the gateway.
func (s *Server) Run(ctx context.Context) error {
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: s.cfg.HeaderTimeout,
		IdleTimeout: s.cfg.IdleTimeout, MaxHeaderBytes: 64 << 10, ConnContext: connlimit.ConnContext}
	var ln net.Listener = s.ln
	if s.cfg.TLS != nil {
		ln = tls.NewListener(s.ln, s.cfg.TLS)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(ln) }()
	if s.report != nil {
		rctx, stop := context.WithCancel(ctx)
		reported := make(chan struct{})
		go func() { defer close(reported); s.report.Loop(rctx) }()
		defer func() { stop(); <-reported }()
	}
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
		if s.ownAudit {
			s.closeErr = errors.Join(s.closeErr, s.cfg.Audit.Close())
		}
	})
	return s.closeErr
}

// requestID is the S3 request id front gave r. It travels in r's context
// (internal/reqid), so every master and chunk-server call the request
// causes carries it and their log lines show it as request_id.
func requestID(r *http.Request) string { return reqid.From(r.Context()) }

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
		s.writeError(w, r, s3err.New(s3err.InvalidURI, "couldn't parse the specified URI"))
	})
	return s.front(rpc.TraceRoot("gateway", r)) // a span per S3 request when tracing is on
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
		defer connlimit.Serving(r.Context())()
		raw := make([]byte, 8)
		rand.Read(raw)
		id := strings.ToUpper(hex.EncodeToString(raw))
		r = r.WithContext(reqid.With(r.Context(), id))
		w.Header().Set("x-amz-request-id", id)
		w.Header().Set("Server", "Granary")
		if r.URL.Path == HealthPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			s.health(w, r)
			return
		}
		if r.URL.Path == MetricsPath && r.Method == http.MethodGet {
			s.metrics.Handler().ServeHTTP(w, r)
			return
		}
		start := time.Now()
		rec, body, done := s.metrics.Begin(w, r)
		op := &opName{name: "refused", body: body} // until dispatch names the operation
		r = r.WithContext(context.WithValue(r.Context(), metricsOpKey{}, op))
		r.Body, w = body, rec
		defer func() { done(op.name) }()
		if s.cfg.Audit != nil {
			defer s.audit(w, r, start)
		}
		if s.cfg.AccessLog {
			defer s.logAccess(w, r, start)
		}
		// A CORS preflight is never signed; dispatch answers it from the
		// bucket's CORS rules and serves nothing else unsigned.
		if r.Method != http.MethodOptions {
			p, err := s.authn.Authenticate(r)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			r = withPrincipal(r, p)
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

// translate maps cluster and client errors to S3 errors.
func (s *Server) translate(err error) *s3err.Error {
	msg := err.Error()
	switch {
	case errors.Is(err, client.ErrNoSuchBucket):
		return s3error(s3err.NoSuchBucket, "the specified bucket does not exist")
	case errors.Is(err, client.ErrNoSuchKey):
		return s3error(s3err.NoSuchKey, "the specified key does not exist")
	case errors.Is(err, client.ErrBucketExists):
		return s3error(s3err.BucketAlreadyOwnedByYou, "your previous request to create the named bucket succeeded and you already own it")
	case errors.Is(err, client.ErrBucketNotEmpty):
		return s3error(s3err.BucketNotEmpty, "the bucket you tried to delete is not empty")
	case errors.Is(err, client.ErrPrecondition):
		return s3error(s3err.PreconditionFailed, "at least one of the preconditions you specified did not hold")
	case errors.Is(err, client.ErrTooLarge):
		return s3error(s3err.MetadataTooLarge, "metadata exceeds the limit")
	case errors.Is(err, client.ErrLocked):
		return s3error(s3err.AccessDenied, "access Denied because object protected by object lock")
	case errors.Is(err, client.ErrBadRequest):
		return s3error(s3err.InvalidRequest, msg)
	case errors.Is(err, client.ErrNoSuchUpload):
		return s3error(s3err.NoSuchUpload, "the specified upload does not exist")
	case errors.Is(err, client.ErrInvalidPart):
		return s3error(s3err.InvalidPart, "one or more of the specified parts could not be found, or their ETags do not match")
	case errors.Is(err, client.ErrInvalidPartOrder):
		return s3error(s3err.InvalidPartOrder, "the list of parts was not in ascending order")
	case errors.Is(err, client.ErrEntityTooSmall):
		return s3error(s3err.EntityTooSmall, "your proposed upload is smaller than the minimum allowed object size")
	case errors.Is(err, client.ErrNoSpace):
		return s3error(s3err.InsufficientStorage, "the cluster has no room for this data; free space or add chunk servers before retrying")
	case errors.Is(err, client.ErrNotEnoughServers):
		return s3error(s3err.ServiceUnavailable, "too few chunk servers are live to store the data at its replication; retry when they are back")
	case errors.Is(err, client.ErrUnavailable):
		return s3error(s3err.ServiceUnavailable, "please reduce your request rate or retry")
	case errors.Is(err, client.ErrInvalidName), errors.Is(err, proto.ErrInvalidName):
		return s3error(s3err.InvalidArgument, msg)
	case errors.Is(err, client.ErrNoReplica), errors.Is(err, client.ErrCorrupt):
		// The client reports "no good replica" for unreachable and for
		// corrupt replicas alike; both may heal.
		return s3error(s3err.ServiceUnavailable, "no replica of part of this object can be read right now; retry when its chunk servers are back")
	case errors.Is(err, client.ErrShortWrite):
		return s3error(s3err.IncompleteBody, "you did not provide the number of bytes specified by the Content-Length header")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return s3error(s3err.ServiceUnavailable, "the request timed out")
	}
	return s3error(s3err.Internal, "we encountered an internal error; please try again")
}
