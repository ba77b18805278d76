package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/granary-store/granary/chunkserver"
	"github.com/granary-store/granary/internal/cliflag"
	"github.com/granary-store/granary/internal/proto"
)

func runChunkserver(ctx context.Context, e *env, args []string) error {
	cfg := chunkserver.DefaultConfig()
	fs := newFlagSet(e, "chunkserver", "chunkserver --dir DIR[,DIR...] --http-addr HOST:PORT --masters HOST:PORT[,...] [--id ID] [--rack NAME] [flags]")
	dirs := fs.String("dir", "", "data directories, one per disk, comma-separated (required)")
	fs.StringVar(&cfg.HTTPAddr, "http-addr", "", "data-plane address (required)")
	masters := fs.String("masters", e.getenv("GRANARY_MASTERS"), "master HTTP addresses, comma-separated (default from GRANARY_MASTERS)")
	fs.StringVar((*string)(&cfg.ID), "id", "", "server id (default: generated on first start and kept in the first data directory)")
	fs.StringVar(&cfg.Rack, "rack", "", "rack or zone, for spreading replicas")
	fs.StringVar(&cfg.Advertise, "advertise", "", "address clients and peers use (default: --http-addr)")
	fs.BoolVar(&cfg.Store.NoSync, "no-sync", false, "do not fsync chunk files or volumes (a crash may lose acknowledged writes)")
	fs.Var(cliflag.Size{N: &cfg.Store.MaxChunkSize}, "max-chunk-size", "largest chunk accepted (KiB, MiB, GiB)")
	fs.Var(cliflag.Size{N: &cfg.Store.PackMax}, "pack-max", "chunks up to this size are packed into shared volume files, many to an fsync (0: a file for every chunk)")
	fs.Var(cliflag.Size{N: &cfg.CapacityLimit}, "capacity", "capacity to offer, below the disks' size (default: all of them)")
	fs.IntVar(&cfg.MaxCopies, "max-repair-streams", cfg.MaxCopies, "concurrent repair copies into this server")
	fs.Var(cliflag.Size{N: &cfg.RepairBandwidth}, "repair-bandwidth", "bytes per second all repair copies into this server take together (0: unlimited)")
	fs.Var(cliflag.Size{N: &cfg.ScrubRate}, "scrub-rate", "bytes per second the scrubber verifies")
	fs.DurationVar(&cfg.ScrubInterval, "scrub-interval", cfg.ScrubInterval, "least time between the starts of two scrub passes")
	fs.DurationVar(&cfg.StallTimeout, "stall-timeout", cfg.StallTimeout, "cut off the next server of a write pipeline that takes no bytes for this long (times the servers left in the pipeline)")
	fs.DurationVar(&cfg.SweepInterval, "sweep-interval", cfg.SweepInterval, "how often every chunk file's existence and every data directory's health are checked")
	fs.DurationVar(&cfg.HeartbeatInterval, "heartbeat-interval", cfg.HeartbeatInterval, "how often to report to the master until it says otherwise (the master's --heartbeat-interval wins)")
	fs.BoolVar(&cfg.Insecure, "insecure", false, "run without GRANARY_CLUSTER_SECRET")
	var ct clusterTLS
	ct.register(fs, e)
	var lf logFlags
	lf.register(fs)
	tf := registerTraceFlags(fs)
	if err := parseConfig(e, fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	cfg.Store.Dirs, cfg.Masters = splitList(*dirs), splitList(*masters)
	if len(cfg.Store.Dirs) == 0 || cfg.HTTPAddr == "" || len(cfg.Masters) == 0 {
		return fmt.Errorf("%w: --dir, --http-addr and --masters are required", errUsage)
	}
	logger, err := lf.logger(e)
	if err != nil {
		return err
	}
	defer tf.start("granary-chunkserver", logger)()
	cfg.Logger = logger
	if cfg.ClusterSecret, err = clusterSecret(e, cfg.Insecure); err != nil { // before touching the data folder
		return err
	}
	if cfg.TLS, _, err = ct.load(logger); err != nil {
		return err
	}
	if cfg.ID == "" {
		id, err := nodeID(cfg.Store.Dirs[0])
		if err != nil {
			return err
		}
		cfg.ID = proto.NodeID(id)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	srv, err := chunkserver.New(cfg)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// nodeID returns the id kept in dir, generating one on first start.
func nodeID(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	return readOrCreate(filepath.Join(dir, "node-id"), "node id", func() string {
		raw := make([]byte, 4)
		rand.Read(raw)
		return "cs-" + hex.EncodeToString(raw)
	})
}
