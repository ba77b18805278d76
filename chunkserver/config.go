package chunkserver

import (
	"crypto/tls"
	"errors"
	"github.com/granary-store/granary/internal/proto"
	"log/slog"
	"net"
	"time"

	"github.com/granary-store/granary/chunkserver/disk"
)

// Config configures a chunk server process.
type Config struct {
	// ID names the server in the master's registry (stable across restarts).
	ID proto.NodeID
	// Rack is the failure domain placement spreads replicas over.
	Rack string
	// Store configures the chunk files (data dirs, fsync policy, size limit).
	Store disk.Config
	// HTTPAddr is the data-plane address; Listener, when set, is used instead.
	HTTPAddr string
	Listener net.Listener
	// Advertise is the address the master hands to clients (default: the
	// listener's address).
	Advertise string
	// Masters lists the masters' HTTP addresses.
	Masters []string
	// ClusterSecret authenticates calls between processes; empty only with
	// Insecure.
	ClusterSecret string
	Insecure      bool
	// TLS, when set, is cluster mutual TLS (pki.LoadCluster's server
	// side): the data plane serves with it, refusing callers without a
	// certificate from the cluster CA, and calls to masters and peers go
	// out with it. The cluster secret is still required on every call.
	// Nil means plain http.
	TLS *tls.Config
	// HeartbeatInterval is how often the server reports to the master.
	HeartbeatInterval time.Duration
	// FullReportInterval is how often a full chunk list is sent.
	FullReportInterval time.Duration
	// IdleTimeout cuts a transfer that moves no bytes for this long.
	IdleTimeout time.Duration
	// StallTimeout, times the servers left in a write pipeline, cuts off
	// the next server when it takes no bytes (or gives no answer once it
	// has them all) for that long, and names it in the error, so the
	// writer retries the chunk elsewhere within seconds rather than
	// waiting out the fault. Each hop upstream waits longer than the one
	// after it, so the neighbour of the stalled server is the one to blame
	// it (see chunkclient.Client.Stall).
	StallTimeout time.Duration
	// CapacityLimit caps the capacity this server reports, and the bytes
	// of chunk files it keeps (a hard bound: a write past it is refused
	// with no space, so the client writes elsewhere), below what its disks
	// could hold; 0: the whole disks.
	CapacityLimit int64
	// MaxCopies bounds concurrent repair copies into this server; more
	// wait in its command queue.
	MaxCopies int
	// RepairBandwidth caps the bytes per second all repair copies into
	// this server take together (a token bucket; 0: no cap).
	RepairBandwidth int64
	// ScrubRate caps the scrubber's verification, in bytes per second.
	ScrubRate int64
	// ScrubInterval is the least time between the starts of two passes.
	ScrubInterval time.Duration
	// SweepInterval is how often every chunk file's existence and every
	// data dir's health are checked (one stat per chunk, no data read), so
	// a lost file or failed disk is reported long before a scrub pass.
	SweepInterval time.Duration
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
}

// DefaultConfig returns production defaults.
func DefaultConfig() Config {
	return Config{
		Store:              disk.DefaultConfig(),
		HeartbeatInterval:  3 * time.Second,
		FullReportInterval: 10 * time.Minute,
		IdleTimeout:        30 * time.Second,
		StallTimeout:       2 * time.Second,
		MaxCopies:          16,
		RepairBandwidth:    256 << 20,
		ScrubRate:          32 << 20,
		ScrubInterval:      24 * time.Hour,
		SweepInterval:      30 * time.Second,
	}
}

// Validate reports the first problem with the configuration.
func (c *Config) Validate() error {
	switch {
	case c.ID == "":
		return errors.New("chunkserver: id is required")
	case c.HTTPAddr == "" && c.Listener == nil:
		return errors.New("chunkserver: http address is required")
	case len(c.Masters) == 0:
		return errors.New("chunkserver: at least one master address is required")
	case c.ClusterSecret == "" && !c.Insecure:
		return errors.New("chunkserver: a cluster secret is required (GRANARY_CLUSTER_SECRET), or insecure mode")
	case c.HeartbeatInterval <= 0 || c.FullReportInterval <= 0 || c.IdleTimeout <= 0 || c.StallTimeout <= 0 || c.ScrubInterval <= 0 || c.SweepInterval <= 0:
		return errors.New("chunkserver: intervals must be positive")
	case c.MaxCopies <= 0 || c.RepairBandwidth < 0 || c.ScrubRate <= 0:
		return errors.New("chunkserver: max copies and scrub rate must be positive, the repair bandwidth not negative")
	}
	return c.Store.Validate()
}
