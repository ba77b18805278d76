package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/chunkserver/disk"
	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway"
	"github.com/granary-store/granary/internal/cliflag"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master"
)

// runServer runs the embedded single-machine store: one master (its HTTP
// API on --web-addr), --chunkservers chunk servers and the S3 gateway.
func runServer(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "server", "server [--dir ./data] [--s3-addr 127.0.0.1:9000] [--web-addr 127.0.0.1:9333] [--chunkservers 3] [--replication 3] [--tls]")
	dir := fs.String("dir", "./data", "data directory (metadata, chunks, cluster secret)")
	s3Addr := fs.String("s3-addr", "127.0.0.1:9000", "S3 gateway address")
	noSync := fs.Bool("no-sync", false, "do not fsync chunk files or volumes (faster; a crash may lose acknowledged writes)")
	webAddr := fs.String("web-addr", "127.0.0.1:9333", "address of the master HTTP API and the dashboard")
	raftAddr := fs.String("raft-addr", "127.0.0.1:9334", "address of the embedded master's Raft transport")
	chunkservers := fs.Int("chunkservers", 3, "chunk servers to run in this process (each with its own folder under --dir)")
	csPort := fs.Int("chunkserver-port", 0, "port of the first chunk server on 127.0.0.1, the next ones on the ports after it (so Prometheus can scrape their /metrics); 0 picks free ports")
	replication := fs.Int("replication", 3, "default replicas per chunk (at most --chunkservers)")
	classes := map[string]string{}
	fs.Var(storageClassFlag(classes), "storage-class", "map an S3 storage class to a data policy, CLASS=POLICY (repeatable), e.g. STANDARD_IA=rs-4-2")
	policy := fs.String("policy", "", "data policy of buckets created without one: rep-N (the same as --replication N) or rs-K-M (Reed-Solomon, K data and M parity shards; needs --chunkservers of at least K+M)")
	chunkSize := int64(64 << 20)
	fs.Var(cliflag.Size{N: &chunkSize}, "chunk-size", "largest chunk (KiB, MiB, GiB)")
	cfg := master.DefaultConfig()
	fs.DurationVar(&cfg.OrphanGrace, "orphan-grace", cfg.OrphanGrace, "how long written but uncommitted chunks are kept")
	fs.DurationVar(&cfg.GCDelay, "gc-delay", cfg.GCDelay, "how long chunks of deleted or overwritten data stay on disk before removal")
	convertFlags(fs, &cfg)
	csCfg := chunkserver.DefaultConfig()
	fs.DurationVar(&csCfg.ScrubInterval, "scrub-interval", csCfg.ScrubInterval, "least time between the starts of two scrub passes on each chunk server")
	fs.DurationVar(&csCfg.SweepInterval, "sweep-interval", csCfg.SweepInterval, "how often each chunk server checks that its chunk files and data directories are there")
	fs.Var(cliflag.Size{N: &csCfg.CapacityLimit}, "capacity", "capacity each chunk server offers, below the disk's size (default: all of it)")
	fs.Var(cliflag.Size{N: &csCfg.Store.PackMax}, "pack-max", "chunks up to this size are packed into shared volume files, many to an fsync (0: a file for every chunk)")
	var lf logFlags
	lf.register(fs)
	tf := registerTraceFlags(fs)
	gwCfg := gateway.DefaultConfig()
	gatewayFlags(fs, &gwCfg)
	tlsOn := fs.Bool("tls", false, "TLS everywhere: on first start, create a CA and certificates in DIR/tls (kept across restarts); every internal hop then uses mutual TLS, and S3 and the dashboard serve HTTPS")
	var s3 s3TLS
	s3.register(fs)
	if err := parseConfig(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	if *policy != "" {
		p, err := client.ParseDataPolicy(*policy)
		switch {
		case err != nil:
			return fmt.Errorf("%w: --policy: %w", errUsage, err)
		case p.Servers() > *chunkservers:
			return fmt.Errorf("%w: --policy %s needs --chunkservers of at least %d", errUsage, p, p.Servers())
		case !p.IsErasure():
			*replication, *policy = p.Copies, ""
		}
	}
	for class, policy := range classes {
		if p, _ := client.ParseDataPolicy(policy); p.Servers() > *chunkservers {
			return fmt.Errorf("%w: --storage-class %s=%s needs --chunkservers of at least %d", errUsage, class, policy, p.Servers())
		}
	}
	if cfg.ConvertPolicy != "" {
		p, err := client.ParseDataPolicy(cfg.ConvertPolicy)
		switch {
		case err != nil || !p.IsErasure():
			return fmt.Errorf("%w: --convert-policy %q: want rs-K-M", errUsage, cfg.ConvertPolicy)
		case p.Servers() > *chunkservers:
			return fmt.Errorf("%w: --convert-policy %s needs --chunkservers of at least %d", errUsage, p, p.Servers())
		}
	}
	if *csPort < 0 || *csPort > 0 && *csPort+*chunkservers-1 > 65535 {
		return fmt.Errorf("%w: --chunkserver-port %d leaves no room for %d chunk servers", errUsage, *csPort, *chunkservers)
	}
	if *chunkservers < 1 || *replication < 1 || *replication > *chunkservers {
		return fmt.Errorf("%w: need 1 <= --replication (%d) <= --chunkservers (%d)", errUsage, *replication, *chunkservers)
	}
	if cfg.OrphanGrace <= 0 || cfg.GCDelay < 0 || csCfg.ScrubInterval <= 0 || csCfg.SweepInterval <= 0 || csCfg.CapacityLimit < 0 {
		return fmt.Errorf("%w: --orphan-grace, --scrub-interval and --sweep-interval must be positive, --gc-delay and --capacity not negative", errUsage)
	}
	storeProbe := csCfg.Store // --pack-max, before anything is written
	storeProbe.Dirs = []string{*dir}
	if err := storeProbe.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	logger, err := lf.logger(e)
	if err != nil {
		return err
	}
	cfg.ID, cfg.Dir, cfg.Bootstrap = "master", filepath.Join(*dir, "master"), true
	cfg.RaftAddr, cfg.HTTPAddr = *raftAddr, *webAddr
	cfg.Replication, cfg.DataPolicy, cfg.ChunkSize, cfg.Logger = *replication, *policy, chunkSize, logger
	cfg.StorageClasses = classes
	// Everything the flags say is checked before anything is written: a
	// refused start leaves no data dir or secret behind.
	probe := cfg
	probe.ClusterSecret = "checked before the secret exists"
	if err := probe.Validate(); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if gwCfg.TLS, err = s3.config(logger); err != nil {
		return err
	}
	defer tf.start("granary-server", logger)()
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", *dir, err)
	}
	secret, err := serverSecret(e, *dir)
	if err != nil {
		return err
	}
	var lt localTLS
	if *tlsOn {
		if lt, err = startLocalTLS(*dir, logger, *s3Addr, *webAddr, *raftAddr); err != nil {
			return err
		}
	}
	if gwCfg.TLS == nil {
		gwCfg.TLS = lt.s3
	}
	cfg.ClusterSecret, cfg.TLS = secret, lt.server
	cc := client.Config{Masters: []string{*webAddr}, Secret: secret, TLS: lt.client}
	if cfg.Web, err = dashboard(cc, logger); err != nil {
		return err
	}
	srv, err := master.New(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 1+*chunkservers)
	go func() { errc <- srv.Run(ctx) }()
	running := 1
	local := localChunks{}
	for i := 1; i <= *chunkservers; i++ {
		csCfg.TLS = lt.server
		addr := "127.0.0.1:0"
		if *csPort > 0 {
			addr = fmt.Sprintf("127.0.0.1:%d", *csPort+i-1)
		}
		cs, err := embeddedChunkserver(csCfg, i, addr, *dir, *webAddr, secret, chunkSize, *noSync, logger)
		if err != nil {
			cancel()
			return errors.Join(err, waitAll(errc, running))
		}
		local[cs.ID()] = localChunk{cs}
		go func() { errc <- cs.Run(ctx) }()
		running++
	}
	gwCfg.LocalChunks = local.reader
	if lt.client == nil { // an in-process call carries no client certificate
		gwCfg.LocalMasters = map[string]http.Handler{*webAddr: srv.Handler()}
	}
	err = ensureRootKey(ctx, e, cc)
	if err == nil {
		err = waitChunkservers(ctx, cc, *chunkservers)
	}
	if err == nil {
		var gw *gateway.Server
		gwCfg.ClusterTLS = lt.client
		if gw, err = embeddedGateway(e, gwCfg, *s3Addr, *webAddr, secret, logger); err == nil {
			go func() { errc <- gw.Run(ctx) }()
			running++
		}
	}
	if err != nil {
		stopped := ctx.Err() != nil
		cancel()
		runErr := waitAll(errc, running)
		if stopped { // stopped by a signal while starting: a clean stop
			return runErr
		}
		return err
	}
	s3Scheme, webScheme := "http", "http"
	if gwCfg.TLS != nil {
		s3Scheme = "https"
	}
	if lt.server != nil {
		webScheme = "https"
	}
	fmt.Fprintf(e.stdout, "granary server: S3 on %s://%s, master API on %s://%s, %d chunk servers, replication %d (data in %s)\n", s3Scheme, *s3Addr, webScheme, *webAddr, *chunkservers, *replication, *dir)
	fmt.Fprintf(e.stdout, "granary server: dashboard on %s://%s/ (log in with the root S3 key)\n", webScheme, *webAddr)
	if lt.server != nil {
		printTrust(e, lt.ca, *s3Addr, s3.set())
	}
	err = <-errc // the first part to stop stops the rest
	cancel()
	return errors.Join(err, waitAll(errc, running-1))
}

// embeddedChunkserver builds chunk server i of granary server, with its
// own folder under dir and a port of its own on 127.0.0.1.
func embeddedChunkserver(cfg chunkserver.Config, i int, addr, dir, master, secret string, chunkSize int64, noSync bool, logger *slog.Logger) (*chunkserver.Server, error) {
	cfg.ID = proto.NodeID(fmt.Sprintf("cs%d", i))
	cfg.HTTPAddr, cfg.Masters, cfg.ClusterSecret, cfg.Logger = addr, []string{master}, secret, logger
	cfg.Store.Dirs = []string{filepath.Join(dir, "chunkservers", string(cfg.ID))}
	cfg.Store.NoSync, cfg.Store.MaxChunkSize = noSync, chunkSize
	return chunkserver.New(cfg)
}

// waitChunkservers waits until the master sees n live chunk servers.
func waitChunkservers(ctx context.Context, cc client.Config, n int) error {
	cl, err := client.NewAdmin(cc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		st, err := cl.Status(ctx)
		alive := st.AliveChunkServers()
		if err == nil && alive >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %d chunk servers (%d alive): %w", n, alive, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// embeddedGateway builds the S3 gateway of granary server. Its root key is
// GRANARY_ACCESS_KEY/GRANARY_SECRET_KEY when set; otherwise every key in the
// metadata (including the generated root key) is looked up there.
func embeddedGateway(e *env, cfg gateway.Config, addr, master, secret string, logger *slog.Logger) (*gateway.Server, error) {
	cfg.Addr, cfg.Masters, cfg.ClusterSecret, cfg.Logger = addr, []string{master}, secret, logger
	cfg.RootAccessKey, cfg.RootSecretKey = e.getenv("GRANARY_ACCESS_KEY"), e.getenv("GRANARY_SECRET_KEY")
	cfg.Stdout = e.stdout // --audit-log -
	return gateway.New(cfg)
}

// localChunks are the chunk servers of this process: the embedded
// gateway reads their replicas straight from their stores, verified as
// their data planes would, and writes replicas to them directly, instead
// of over loopback HTTP.
type localChunks map[client.NodeID]localChunk

func (l localChunks) reader(id client.NodeID) client.ChunkReader {
	if r, ok := l[id]; ok {
		return r
	}
	return nil
}

// localChunk reads from a chunk server's store, reporting verification
// failures as client.ErrReplicaCorrupt, and writes through the server
// (client.ChunkWriter).
type localChunk struct{ cs *chunkserver.Server }

func (l localChunk) StartChunk(ctx context.Context, id client.ChunkID, r io.Reader, n int64) (func() error, error) {
	return l.cs.StartLocal(ctx, id, r, n)
}

func (l localChunk) ReadRange(id client.ChunkID, off, n int64, w io.Writer) (int64, error) {
	got, err := l.cs.Store().ReadRange(uint64(id), off, n, w) // the chunk store's own id type
	if errors.Is(err, disk.ErrCorrupt) {
		err = fmt.Errorf("%w: %w", client.ErrReplicaCorrupt, err)
	}
	return got, err
}

func waitAll(errc <-chan error, n int) error {
	var errs []error
	for range n {
		errs = append(errs, <-errc)
	}
	return errors.Join(errs...)
}

// serverSecret returns GRANARY_CLUSTER_SECRET, or the secret kept in the
// data directory, generating it on first start.
func serverSecret(e *env, dir string) (string, error) {
	if s := e.getenv("GRANARY_CLUSTER_SECRET"); s != "" {
		return s, nil
	}
	return readOrCreate(filepath.Join(dir, "cluster-secret"), "cluster secret", func() string {
		raw := make([]byte, 24)
		rand.Read(raw)
		return hex.EncodeToString(raw)
	})
}

// readOrCreate returns the trimmed contents of path or, when the file does
// not exist, writes gen() there (mode 0600) and returns that; what names
// the value in errors.
func readOrCreate(path, what string, gen func() string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	v := gen()
	if err := os.WriteFile(path, []byte(v+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", what, err)
	}
	return v, nil
}

// ensureRootKey makes sure the root S3 key pair exists: the one from
// GRANARY_ACCESS_KEY/GRANARY_SECRET_KEY, or one generated on first start and
// printed once.
func ensureRootKey(ctx context.Context, e *env, cc client.Config) error {
	cl, err := client.NewAdmin(cc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	access, secretKey := e.getenv("GRANARY_ACCESS_KEY"), e.getenv("GRANARY_SECRET_KEY")
	if (access == "") != (secretKey == "") {
		return fmt.Errorf("%w: set both GRANARY_ACCESS_KEY and GRANARY_SECRET_KEY, or neither", errUsage)
	}
	users, err := listUsers(ctx, cl)
	if err != nil {
		return fmt.Errorf("wait for the master: %w", err)
	}
	if !users["root"] {
		if _, err := cl.CreateUser(ctx, "root"); err != nil {
			return fmt.Errorf("create root user: %w", err)
		}
	}
	if access != "" {
		if _, err := cl.Key(ctx, access); err == nil {
			return nil
		} else if !errors.Is(err, client.ErrNotFound) {
			return fmt.Errorf("look up root key: %w", err)
		}
	} else if users["root"] {
		return nil // generated and printed on an earlier start
	}
	k, err := cl.CreateKey(ctx, "root", access, secretKey)
	if err != nil {
		return fmt.Errorf("create root key: %w", err)
	}
	if access == "" {
		fmt.Fprintf(e.stdout, "granary server: generated root S3 credentials (shown once; set GRANARY_ACCESS_KEY/GRANARY_SECRET_KEY to choose your own):\n  access key: %s\n  secret key: %s\n", k.AccessKey, k.SecretKey)
	}
	return nil
}

func listUsers(ctx context.Context, cl *client.Admin) (map[string]bool, error) {
	us, err := cl.Users(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, u := range us {
		out[u.Name] = true
	}
	return out, nil
}
