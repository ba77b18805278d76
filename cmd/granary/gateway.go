package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/granary-store/granary/gateway"
	"github.com/granary-store/granary/internal/audit"
	"github.com/granary-store/granary/internal/cliflag"
)

func runGateway(ctx context.Context, e *env, args []string) error {
	cfg := gateway.DefaultConfig()
	fs := newFlagSet(e, "gateway", "gateway --masters HOST:PORT[,...] --s3-addr HOST:PORT [flags]")
	masters := fs.String("masters", e.getenv("GRANARY_MASTERS"), "master HTTP addresses, comma-separated (default from GRANARY_MASTERS)")
	fs.StringVar(&cfg.Addr, "s3-addr", "", "address to serve the S3 API on (required)")
	gatewayFlags(fs, &cfg)
	insecure := fs.Bool("insecure", false, "run without GRANARY_CLUSTER_SECRET")
	var ct clusterTLS
	ct.register(fs, e)
	var s3 s3TLS
	s3.register(fs)
	var lf logFlags
	lf.register(fs)
	tf := registerTraceFlags(fs)
	if err := parseConfig(e, fs, args); err != nil {
		return err
	}
	cfg.Masters = splitList(*masters)
	if len(cfg.Masters) == 0 || cfg.Addr == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: --masters and --s3-addr are required", errUsage)
	}
	logger, err := lf.logger(e)
	if err != nil {
		return err
	}
	defer tf.start("granary-gateway", logger)()
	cfg.Logger = logger
	if cfg.ClusterSecret, err = clusterSecret(e, *insecure); err != nil {
		return err
	}
	if _, cfg.ClusterTLS, err = ct.load(logger); err != nil {
		return err
	}
	if cfg.TLS, err = s3.config(logger); err != nil {
		return err
	}
	cfg.RootAccessKey, cfg.RootSecretKey = e.getenv("GRANARY_ACCESS_KEY"), e.getenv("GRANARY_SECRET_KEY")
	cfg.Stdout = e.stdout // --audit-log -
	gw, err := gateway.New(cfg)
	if err != nil {
		return err
	}
	return gw.Run(ctx)
}

// gatewayFlags registers the S3 gateway's own flags (shared by gateway and
// server).
func gatewayFlags(fs *flag.FlagSet, cfg *gateway.Config) {
	fs.StringVar(&cfg.Region, "region", cfg.Region, "region reported to clients and expected in signatures")
	fs.StringVar(&cfg.Domain, "domain", "", "enable virtual-host-style requests to BUCKET.DOMAIN")
	fs.DurationVar(&cfg.MaxSkew, "max-skew", cfg.MaxSkew, "largest accepted difference between a request's signing time and ours")
	fs.IntVar(&cfg.MaxConns, "max-conns", cfg.MaxConns, "most open S3 client connections (idle and slow ones are closed first)")
	fs.BoolVar(&cfg.AccessLog, "access-log", false, "log every S3 request (id, operation, path without query, status, bytes, duration, user)")
	cfg.AuditLog = audit.DefaultConfig()
	cfg.AuditLog.Path = ""
	fs.StringVar(&cfg.AuditLog.Path, "audit-log", "", "write the S3 audit log (one JSON line per change, with who made it) to this file, or - for standard output")
	fs.BoolVar(&cfg.AuditLog.Reads, "audit-reads", false, "also audit reads (GET and HEAD; needs --audit-log)")
	fs.Var(cliflag.Size{N: &cfg.AuditLog.MaxSize}, "audit-max-size", "rotate the audit log file at this size")
	fs.IntVar(&cfg.AuditLog.MaxFiles, "audit-max-files", cfg.AuditLog.MaxFiles, "rotated audit log files kept")
}
