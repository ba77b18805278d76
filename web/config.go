package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/granary-store/granary/client"
)

// Cluster is what the dashboard needs of the cluster; *client.Admin
// implements it. Every method is called with a context that has a
// deadline (Config.CallTimeout), concurrently from many requests.
type Cluster interface {
	Status(ctx context.Context) (client.Status, error)
	Health(ctx context.Context, addr string) (client.Health, error)
	Buckets(ctx context.Context) ([]client.Bucket, error)
	Users(ctx context.Context) ([]client.User, error)
	Key(ctx context.Context, accessKey string) (client.AccessKey, error)
	Keys(ctx context.Context, user string) ([]client.AccessKey, error)
	CreateBucket(ctx context.Context, name string) error
	DeleteBucket(ctx context.Context, name string) error
	CreateUser(ctx context.Context, name string) (client.User, error)
	CreateKey(ctx context.Context, user, accessKey, secretKey string) (client.AccessKey, error)
	DeleteKey(ctx context.Context, accessKey string) error
	Decommission(ctx context.Context, id client.NodeID) error
}

var _ Cluster = (*client.Admin)(nil)

// Config configures the dashboard. Start from DefaultConfig.
type Config struct {
	// Cluster is the data source and the target of actions (required).
	Cluster Cluster
	// AdminUsers are the users whose S3 keys may log in.
	AdminUsers []string
	// SessionTTL is how long a login lasts.
	SessionTTL time.Duration
	// MaxSessions bounds the sessions kept in memory; the oldest goes
	// first when a login would exceed it.
	MaxSessions int
	// Refresh is the longest age of the shared snapshot a page may show.
	Refresh time.Duration
	// CallTimeout bounds every call to the cluster.
	CallTimeout time.Duration
	// PageSize is the number of rows of the bucket and chunk-server tables
	// per page.
	PageSize int
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultConfig returns the production defaults (Cluster still to set).
func DefaultConfig() Config {
	return Config{
		AdminUsers:  []string{"root"},
		SessionTTL:  8 * time.Hour,
		MaxSessions: 10000,
		Refresh:     time.Second,
		CallTimeout: 5 * time.Second,
		PageSize:    200,
	}
}

// Validate reports every problem with the configuration.
func (c *Config) Validate() error {
	var errs []error
	check := func(ok bool, msg string) {
		if !ok {
			errs = append(errs, errors.New(msg))
		}
	}
	check(c.Cluster != nil, "a cluster is required")
	check(len(c.AdminUsers) > 0, "at least one admin user is required")
	check(c.SessionTTL > 0, "session TTL must be positive")
	check(c.MaxSessions > 0, "max sessions must be positive")
	check(c.Refresh > 0, "refresh must be positive")
	check(c.CallTimeout > 0, "call timeout must be positive")
	check(c.PageSize > 0, "page size must be positive")
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("web: invalid config: %w", err)
	}
	return nil
}
