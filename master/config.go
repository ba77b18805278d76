package master

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// Config configures a master. Start from DefaultConfig.
type Config struct {
	// ID names this voter; it must stay the same across restarts.
	ID proto.NodeID
	// Dir holds the Raft log, snapshots and the Badger state.
	Dir string
	// RaftAddr is the advertised Raft address (host:port) other voters dial.
	RaftAddr string
	// RaftListener, when set, is used instead of listening on RaftAddr.
	RaftListener net.Listener
	// HTTPAddr is the advertised address of the HTTP API.
	HTTPAddr string
	// HTTPListener, when set, is used instead of listening on HTTPAddr.
	HTTPListener net.Listener
	// Bootstrap starts a new group with this member as its only voter
	// (ignored when the Dir already holds Raft state).
	Bootstrap bool
	// Join is the HTTP address of an existing member to join through.
	Join string
	// ClusterSecret authenticates calls between Granary processes. Empty
	// is allowed only with Insecure.
	ClusterSecret string
	// Insecure turns authentication of internal calls off.
	Insecure bool
	// TLS, when set, is cluster mutual TLS (pki.LoadCluster's server
	// side). The Raft stream requires a client certificate from the
	// cluster CA on every connection. The HTTP API serves with it and
	// verifies a client certificate when one is shown; every
	// authenticated route requires one (rpc.Config.Authenticate), while
	// the health probe, /metrics and the dashboard stay reachable by
	// browsers and probes that only trust the CA. Calls to other members
	// go out with it. The cluster secret is still required. Nil means
	// plain TCP and http.
	TLS *tls.Config

	// HeartbeatInterval is how often chunk servers heartbeat.
	HeartbeatInterval time.Duration
	// DeadAfter is how long without a heartbeat marks a chunk server dead.
	DeadAfter time.Duration
	// ChunkSize is the largest chunk clients write.
	ChunkSize int64
	// Replication is the default number of replicas of a chunk.
	Replication int
	// DataPolicy is the data policy of buckets created without one
	// (proto.ParseDataPolicy); "" is rep-Replication.
	DataPolicy string
	// StorageClasses maps S3 storage class names to data policies: a
	// write that asks for a mapped class is stored under its policy
	// (replicated chunks still keep their bucket's replication).
	StorageClasses map[string]string
	// InlineThreshold is the largest object stored inline in the metadata
	// instead of in chunks. Measured (client BenchmarkInlineThreshold, put
	// and get, replication 3, fsync on): inline is 7.6x faster at 1 KiB,
	// 2.9x at 16 KiB, 1.2x at 64 KiB, and 0.53x at 256 KiB. The default is
	// 16 KiB: past it the gain is small while every inline byte is carried
	// by the Raft log, snapshots and each read of the object's record.
	InlineThreshold int64

	// RepairInterval is how often the leader plans repairs.
	RepairInterval time.Duration
	// LifecycleInterval is how often the leader's lifecycle worker
	// evaluates a page of LifecyclePage versions or uploads against the
	// buckets' lifecycle rules: together they bound its rate.
	LifecycleInterval time.Duration
	LifecyclePage     int
	// ConvertAfter turns the background conversion on for every bucket
	// without a rule of its own: replicated objects older than this are
	// rewritten as stripes of ConvertPolicy (or, when that is empty, of
	// the bucket's or the cluster's data policy if it is rs-K-M). 0 is
	// off. Buckets may set their own (proto.ConvertRule).
	ConvertAfter  time.Duration
	ConvertPolicy string
	// ConvertBandwidth bounds the bytes per second the conversion reads
	// (0: no bound); ConvertInterval is how often an idle converter looks
	// for work.
	ConvertBandwidth int64
	ConvertInterval  time.Duration
	// SafeModeTimeout bounds safe mode after a leader change: no repair and
	// no deletion until every chunk server reported, or this long.
	SafeModeTimeout time.Duration
	// GCDelay is how long a chunk freed by a delete or overwrite stays on
	// disk, so that reads of the old version can finish.
	GCDelay time.Duration
	// OrphanGrace is how long a written but unreferenced chunk is kept
	// (since first seen, or since its writer last renewed it).
	OrphanGrace time.Duration
	// MaxRepairPerServer bounds the copies one server takes part in at a
	// time, so repair never starves client traffic.
	MaxRepairPerServer int
	// MaxRepairBytesPerServer bounds the bytes of those copies (0: no
	// bound): many small chunks may be in flight where few large ones are.
	MaxRepairBytesPerServer int64
	// MaxRepairPerRound and MaxDeletesPerRound bound the commands issued
	// per planning round (no storms).
	MaxRepairPerRound  int
	MaxDeletesPerRound int
	// CommandTimeout forgets a command not confirmed by a report by then.
	CommandTimeout time.Duration
	// BalanceThreshold is the spread of usage ratios (used/capacity) between
	// the fullest and emptiest live servers that starts balancing.
	BalanceThreshold float64

	// BucketCountInterval is the rest between two passes of the leader's
	// count of every bucket's objects and bytes (the dashboard's and the
	// buckets API's usage), and BucketCountRate the most object versions
	// a pass reads per second; zero takes the defaults (30 s, 20,000).
	BucketCountInterval time.Duration
	BucketCountRate     int
	// GatewayExpiry is how long the leader keeps an S3 gateway that stopped
	// reporting (zero: 30 s).
	GatewayExpiry time.Duration

	// Raft timing and log compaction; see hashicorp/raft's Config.
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	SnapshotThreshold  uint64
	SnapshotInterval   time.Duration
	TrailingLogs       uint64
	// ApplyTimeout bounds one proposal when the caller has no deadline.
	ApplyTimeout time.Duration
	// NoSync skips fsync of the Raft log (tests and benchmarks only: a
	// power loss may then lose acknowledged changes).
	NoSync bool

	// Web, when set, serves every path of the HTTP address that the API
	// does not own (the dashboard, package web); /v1, /metrics and /debug
	// stay the API's.
	Web http.Handler

	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultConfig returns production defaults.
func DefaultConfig() Config {
	return Config{
		HeartbeatInterval:       3 * time.Second,
		DeadAfter:               30 * time.Second,
		ChunkSize:               64 << 20,
		Replication:             3,
		InlineThreshold:         16 << 10,
		RepairInterval:          3 * time.Second,
		LifecycleInterval:       time.Second,
		LifecyclePage:           500,
		ConvertBandwidth:        32 << 20,
		ConvertInterval:         10 * time.Second,
		SafeModeTimeout:         60 * time.Second,
		OrphanGrace:             time.Hour,
		GCDelay:                 5 * time.Minute,
		MaxRepairPerServer:      2048,
		MaxRepairBytesPerServer: 1 << 30,
		MaxRepairPerRound:       4096,
		MaxDeletesPerRound:      1000,
		CommandTimeout:          2 * time.Minute,
		BalanceThreshold:        0.10,
		BucketCountInterval:     30 * time.Second,
		BucketCountRate:         20000,
		GatewayExpiry:           30 * time.Second,
		HeartbeatTimeout:        1000 * time.Millisecond,
		ElectionTimeout:         1000 * time.Millisecond,
		LeaderLeaseTimeout:      500 * time.Millisecond,
		CommitTimeout:           20 * time.Millisecond,
		SnapshotThreshold:       8192,
		SnapshotInterval:        2 * time.Minute,
		TrailingLogs:            10240,
		ApplyTimeout:            10 * time.Second,
	}
}

// Validate reports the first problem with the configuration.
func (c *Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, a ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	check(c.ID != "", "id is required")
	check(c.Dir != "", "dir is required")
	check(c.RaftAddr != "" || c.RaftListener != nil, "raft address is required")
	check(c.HTTPAddr != "" || c.HTTPListener != nil, "http address is required")
	check(!(c.Bootstrap && c.Join != ""), "bootstrap and join are exclusive")
	check(c.ClusterSecret != "" || c.Insecure, "a cluster secret is required (GRANARY_CLUSTER_SECRET), or insecure mode")
	check(c.ClusterSecret == "" || len(c.ClusterSecret) >= 16, "the cluster secret must be at least 16 characters")
	check(c.HeartbeatInterval > 0, "heartbeat interval must be positive")
	check(c.DeadAfter > c.HeartbeatInterval, "dead-after (%v) must exceed the heartbeat interval (%v)", c.DeadAfter, c.HeartbeatInterval)
	check(c.ChunkSize >= 64<<10 && c.ChunkSize <= 4<<30, "chunk size must be between 64KiB and 4GiB")
	check(c.Replication >= 1 && c.Replication <= 16, "replication must be between 1 and 16")
	if c.DataPolicy != "" {
		_, err := proto.ParseDataPolicy(c.DataPolicy)
		check(err == nil, "data policy: %v", err)
	}
	for class, policy := range c.StorageClasses {
		_, err := proto.ParseDataPolicy(policy)
		check(err == nil && class != "" && strings.ToUpper(class) == class, "storage class %q: a class in capitals and a data policy (%v)", class, err)
	}
	check(c.InlineThreshold >= 0 && c.InlineThreshold <= 256<<10, "inline threshold must be between 0 and 256KiB")
	check(c.HeartbeatTimeout >= 5*time.Millisecond && c.ElectionTimeout >= c.HeartbeatTimeout, "raft timeouts are inconsistent")
	check(c.LeaderLeaseTimeout > 0 && c.LeaderLeaseTimeout <= c.HeartbeatTimeout, "leader lease must be positive and at most the heartbeat timeout")
	check(c.ApplyTimeout > 0, "apply timeout must be positive")
	check(c.LifecycleInterval > 0 && c.LifecyclePage > 0, "the lifecycle interval and page must be positive")
	check(c.ConvertAfter >= 0 && c.ConvertBandwidth >= 0 && c.ConvertInterval > 0, "conversion: the age and bandwidth must not be negative, the interval must be positive")
	if c.ConvertPolicy != "" {
		p, err := proto.ParseDataPolicy(c.ConvertPolicy)
		check(err == nil && p.IsErasure(), "conversion policy %q: must be rs-K-M", c.ConvertPolicy)
	}
	check(c.RepairInterval > 0 && c.SafeModeTimeout > 0 && c.OrphanGrace > 0 && c.CommandTimeout > 0 && c.GCDelay >= 0, "repair intervals must be positive")
	check(c.BalanceThreshold > 0 && c.BalanceThreshold < 1, "balance threshold must be in (0, 1)")
	check(c.MaxRepairPerServer > 0 && c.MaxRepairPerRound > 0 && c.MaxDeletesPerRound > 0 && c.MaxRepairBytesPerServer >= 0, "repair limits must be positive")
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("master: invalid config: %w", err)
	}
	return nil
}
