package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/cliflag"
	"github.com/granary-store/granary/master"
	"github.com/granary-store/granary/web"
)

func runMaster(ctx context.Context, e *env, args []string) error {
	cfg := master.DefaultConfig()
	fs := newFlagSet(e, "master", "master --id ID --dir DIR --raft-addr HOST:PORT --http-addr HOST:PORT [--bootstrap | --join HOST:PORT] [flags]")
	fs.StringVar((*string)(&cfg.ID), "id", "", "member id, stable across restarts (required)")
	fs.StringVar(&cfg.Dir, "dir", "", "directory for the Raft log, snapshots and metadata (required)")
	fs.StringVar(&cfg.RaftAddr, "raft-addr", "", "address for Raft traffic between masters (required)")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", "", "address of the HTTP API and the dashboard (required)")
	raftBind := fs.String("raft-bind", "", "address to listen on for Raft (default: --raft-addr); lets a container listen on all interfaces while --raft-addr names it")
	httpBind := fs.String("http-bind", "", "address to listen on for the HTTP API (default: --http-addr)")
	fs.BoolVar(&cfg.Bootstrap, "bootstrap", false, "start a new group with this member as its first voter")
	fs.StringVar(&cfg.Join, "join", "", "HTTP address of an existing member to join through")
	fs.DurationVar(&cfg.HeartbeatInterval, "heartbeat-interval", cfg.HeartbeatInterval, "how often chunk servers heartbeat")
	fs.DurationVar(&cfg.DeadAfter, "dead-after", cfg.DeadAfter, "a chunk server silent this long is dead")
	fs.Var(cliflag.Size{N: &cfg.ChunkSize}, "chunk-size", "largest chunk clients write (KiB, MiB, GiB)")
	fs.IntVar(&cfg.Replication, "replication", cfg.Replication, "default replicas per chunk")
	cfg.StorageClasses = map[string]string{}
	fs.Var(storageClassFlag(cfg.StorageClasses), "storage-class", "map an S3 storage class to a data policy, CLASS=POLICY (repeatable), e.g. STANDARD_IA=rs-4-2")
	fs.StringVar(&cfg.DataPolicy, "policy", "", "data policy of buckets created without one: rep-N (--replication N) or rs-K-M (Reed-Solomon, K data and M parity shards on K+M servers)")
	convertFlags(fs, &cfg)
	fs.DurationVar(&cfg.RepairInterval, "repair-interval", cfg.RepairInterval, "how often the leader plans repairs (also woken by finished copies)")
	fs.IntVar(&cfg.MaxRepairPerServer, "max-repair-per-server", cfg.MaxRepairPerServer, "concurrent repair copies one chunk server takes part in")
	fs.IntVar(&cfg.MaxRepairPerRound, "max-repair-per-round", cfg.MaxRepairPerRound, "copies issued per planning round")
	fs.DurationVar(&cfg.SafeModeTimeout, "safe-mode-timeout", cfg.SafeModeTimeout, "longest safe mode after a leader change")
	fs.DurationVar(&cfg.GCDelay, "gc-delay", cfg.GCDelay, "how long chunks of deleted or overwritten data stay on disk before removal")
	fs.DurationVar(&cfg.OrphanGrace, "orphan-grace", cfg.OrphanGrace, "how long written but uncommitted chunks are kept")
	fs.Float64Var(&cfg.BalanceThreshold, "balance-threshold", cfg.BalanceThreshold, "usage-ratio spread that starts balancing")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "run without GRANARY_CLUSTER_SECRET (no authentication between processes)")
	var ct clusterTLS
	ct.register(fs, e)
	fs.DurationVar(&cfg.ElectionTimeout, "election-timeout", cfg.ElectionTimeout, "Raft election timeout")
	fs.DurationVar(&cfg.HeartbeatTimeout, "raft-heartbeat-timeout", cfg.HeartbeatTimeout, "Raft heartbeat timeout")
	var lf logFlags
	lf.register(fs)
	tf := registerTraceFlags(fs)
	if err := parseConfig(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	logger, err := lf.logger(e)
	if err != nil {
		return err
	}
	defer tf.start("granary-master", logger)()
	cfg.Logger = logger
	if cfg.ClusterSecret, err = clusterSecret(e, cfg.Insecure); err != nil {
		return err
	}
	for name, v := range map[string]string{"--id": string(cfg.ID), "--dir": cfg.Dir, "--raft-addr": cfg.RaftAddr, "--http-addr": cfg.HTTPAddr} {
		if v == "" {
			return fmt.Errorf("%w: %s is required", errUsage, name)
		}
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	var clientTLS *tls.Config
	if cfg.TLS, clientTLS, err = ct.load(logger); err != nil {
		return err
	}
	if cfg.Web, err = dashboard(client.Config{Masters: []string{cfg.HTTPAddr}, Secret: cfg.ClusterSecret, TLS: clientTLS}, logger); err != nil {
		return err
	}
	if *raftBind != "" {
		ln, err := net.Listen("tcp", *raftBind)
		if err != nil {
			return fmt.Errorf("listen on --raft-bind: %w", err)
		}
		cfg.RaftListener = ln
	}
	if *httpBind != "" {
		ln, err := net.Listen("tcp", *httpBind)
		if err != nil {
			if cfg.RaftListener != nil {
				cfg.RaftListener.Close()
			}
			return fmt.Errorf("listen on --http-bind: %w", err)
		}
		cfg.HTTPListener = ln
	}
	srv, err := master.New(cfg)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// logFlags are the servers' logging flags.
type logFlags struct{ level, format string }

func (f *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.level, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&f.format, "log-format", "text", "log line format: text (key=value) or json (one object a line)")
}

// logger builds the process's logger on standard error and makes it the
// default.
func (f *logFlags) logger(e *env) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(f.level))); err != nil {
		return nil, fmt.Errorf("%w: bad --log-level %q", errUsage, f.level)
	}
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler
	switch f.format {
	case "text":
		h = slog.NewTextHandler(e.stderr, opts)
	case "json":
		h = slog.NewJSONHandler(e.stderr, opts)
	default:
		return nil, fmt.Errorf("%w: --log-format %q is not text or json", errUsage, f.format)
	}
	logger := slog.New(h)
	slog.SetDefault(logger)
	return logger, nil
}

// dashboard builds the web dashboard a master serves beside its API; it
// reads the cluster through cc, that master's own HTTP address.
func dashboard(cc client.Config, logger *slog.Logger) (http.Handler, error) {
	admin, err := client.NewAdmin(cc)
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	cfg := web.DefaultConfig()
	cfg.Cluster, cfg.Logger = admin, logger
	return web.New(cfg)
}

// storageClassFlag collects --storage-class CLASS=POLICY mappings.
type storageClassFlag map[string]string

func (f storageClassFlag) String() string {
	var parts []string
	for class, policy := range f {
		parts = append(parts, class+"="+policy)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func (f storageClassFlag) Set(v string) error {
	class, policy, ok := strings.Cut(v, "=")
	if !ok || class == "" || strings.ToUpper(class) != class {
		return fmt.Errorf("want CLASS=POLICY with the class in capitals, got %q", v)
	}
	if _, err := client.ParseDataPolicy(policy); err != nil {
		return err
	}
	f[class] = policy
	return nil
}
