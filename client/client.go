package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/granary-store/granary/internal/chunkclient"
	"github.com/granary-store/granary/internal/masterclient"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/rpc"
)

// Config configures a Client.
type Config struct {
	// Masters lists master HTTP addresses; any member will do.
	Masters []string
	// Secret is the cluster secret.
	Secret string
	// TLS, when set, is cluster mutual TLS (pki.LoadCluster's client
	// side): calls to masters and chunk servers go over https, verify
	// them against the cluster CA and present this client's certificate,
	// which clusters running with TLS require. Nil means plain http.
	TLS *tls.Config
	// Replication overrides the cluster's default replica count (0: keep).
	Replication int
	// ChunkSize overrides the cluster's chunk size (0: keep).
	ChunkSize int64
	// InlineThreshold overrides the cluster's inline threshold: 0 keeps
	// it, a negative value stores nothing inline. Either way nothing is
	// stored inline when the master group has fewer voters than the
	// replica count, so an inline object never has fewer copies than its
	// replicas would.
	InlineThreshold int64
	// MaxAttempts bounds pipeline retries per chunk (0: 5).
	MaxAttempts int
	// MemoryBuffer is the largest chunk kept in memory for retries when the
	// source cannot be re-read; larger chunks are spooled to a temporary
	// file (0: 4 MiB).
	MemoryBuffer int64
	// RequestTimeout bounds one chunk request that moves no bytes (0: 30s).
	RequestTimeout time.Duration
	// ReplicaWait is how long a read waits for a replica's first answer
	// before it gives up on that replica and asks the next one (0: 2s); the
	// last replica gets the whole RequestTimeout. A paused or cut-off chunk
	// server then costs a reader ReplicaWait, not RequestTimeout.
	ReplicaWait time.Duration
	// StallTimeout, times the pipeline's length, bounds how long a chunk
	// write waits on a first server that takes no bytes or gives no
	// answer before it gives the chunk up and retries it on fresh servers
	// without that one (0: 2s, so 6 s with three replicas). Chunk servers
	// cut off a stalled server further down sooner (their --stall-timeout
	// times the servers left) and name it, so that one is excluded.
	StallTimeout time.Duration
	// Local, when set, returns a reader for the chunks of a chunk server
	// on this host (nil for any other): reads then take replicas there
	// first and read them straight from disk, verified as the chunk
	// server would, without crossing its data plane (a short-circuit
	// read, as HDFS has). granary server wires it for its own gateway.
	Local func(server NodeID) ChunkReader
	// LocalMasters maps master addresses (as in Masters) to the master
	// API of that member when it runs in this process: calls to it are
	// then answered without crossing loopback (rpc.InProcess), authorized
	// as any other. granary server wires its own master when cluster TLS
	// is off (an in-process call carries no client certificate).
	LocalMasters map[string]http.Handler
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// Client talks to a Granary cluster.
type Client struct {
	cfg    Config
	master *masterclient.Client
	http   *http.Client // shared by chunks
	chunks *chunkclient.Client
	log    *slog.Logger

	mu       sync.Mutex
	cluster  *proto.ClusterConfig
	silent   map[NodeID]time.Time    // chunk servers that did not answer a read, until when
	policies map[string]bucketPolicy // buckets' data policies (stripe.go)

	ahead aheadPool // chunks allocated ahead for small writes (allocahead.go)
}

// New returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.MemoryBuffer <= 0 {
		cfg.MemoryBuffer = 4 << 20
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.ReplicaWait <= 0 {
		cfg.ReplicaWait = 2 * time.Second
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = 2 * time.Second
	}
	rc := rpc.Config{Secret: cfg.Secret, TLS: cfg.TLS}
	mc, err := masterclient.NewInProcess(cfg.Masters, rc, cfg.LocalMasters)
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, master: mc, log: cfg.Logger, ahead: aheadPool{now: time.Now}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.http = rpc.NewClient(rc, rpc.ClientOptions{ResponseHeaderTimeout: cfg.RequestTimeout})
	c.chunks = chunkclient.New(rc, c.http)
	c.chunks.Stall = cfg.StallTimeout
	return c, nil
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// clusterConfig returns the cluster's data settings with overrides.
func (c *Client) clusterConfig(ctx context.Context) (proto.ClusterConfig, error) {
	c.mu.Lock()
	cached := c.cluster
	c.mu.Unlock()
	if cached == nil {
		cc, err := c.master.Config(ctx)
		if err != nil {
			return proto.ClusterConfig{}, fmt.Errorf("client: cluster config: %w", err)
		}
		c.mu.Lock()
		c.cluster = &cc
		c.mu.Unlock()
		cached = &cc
	}
	cc := *cached
	if c.cfg.Replication > 0 {
		cc.Replication = c.cfg.Replication
	}
	if c.cfg.ChunkSize > 0 {
		cc.ChunkSize = c.cfg.ChunkSize
	}
	switch {
	case c.cfg.InlineThreshold > 0:
		cc.InlineThreshold = min(c.cfg.InlineThreshold, proto.MaxInlineBytes)
	case c.cfg.InlineThreshold < 0:
		cc.InlineThreshold = -1
	}
	if cc.MasterVoters > 0 && cc.MasterVoters < cc.Replication {
		// Inline bytes would have fewer copies than the replica count
		// promises: store every object in chunks.
		cc.InlineThreshold = -1
	}
	return cc, nil
}

// Stat returns an object's metadata (inline data included). A missing
// object is ErrNoSuchKey; a missing bucket ErrNoSuchBucket.
func (c *Client) Stat(ctx context.Context, bucket, key string) (ObjectInfo, error) {
	o, err := c.master.Stat(ctx, bucket, key)
	return o, classify(err)
}

// List returns one page of keys in byte order.
func (c *Client) List(ctx context.Context, req ListRequest) (ListResult, error) {
	res, err := c.master.List(ctx, req)
	return res, classify(err)
}

// Delete removes an object; its chunks are collected later.
func (c *Client) Delete(ctx context.Context, bucket, key string) error {
	return classify(c.master.Delete(ctx, bucket, key))
}

// DeleteOptions are the conditions of DeleteIf; the zero value has none.
type DeleteOptions struct {
	// IfETag requires the object's ETag (quotes ignored): S3's If-Match.
	IfETag string
	// IfSize requires the object's size: x-amz-if-match-size.
	IfSize *int64
	// IfModified requires the object's modification time, to the second:
	// x-amz-if-match-last-modified-time.
	IfModified *time.Time
}

// DeleteIf removes an object when every condition in opts holds on its
// current record, checked atomically with the deletion. A failed condition
// is ErrPrecondition; a missing object ErrNoSuchKey.
func (c *Client) DeleteIf(ctx context.Context, bucket, key string, opts DeleteOptions) error {
	return classify(c.master.DeleteIf(ctx, proto.DeleteRequest{
		Bucket: bucket, Key: key, IfETag: opts.IfETag, IfSize: opts.IfSize, IfModified: opts.IfModified,
	}))
}

// Rename moves an object to another key of its bucket, atomically.
func (c *Client) Rename(ctx context.Context, bucket, from, to string) error {
	return classify(c.master.Rename(ctx, bucket, from, to))
}

// SetMeta replaces the user metadata of an object in an unversioned bucket
// without rewriting its bytes, if its ETag is still ifETag (else
// ErrPrecondition); in a versioned bucket it is ErrBadRequest (a change of
// metadata makes a new version there: copy the object instead). It
// returns the object's record after the change.
func (c *Client) SetMeta(ctx context.Context, bucket, key, ifETag string, meta map[string]string) (ObjectInfo, error) {
	if err := validBucketKey(bucket, key); err != nil {
		return ObjectInfo{}, err
	}
	if err := classify(c.master.SetMeta(ctx, proto.SetMetaRequest{Bucket: bucket, Key: key, IfETag: ifETag, Meta: meta})); err != nil {
		return ObjectInfo{}, err
	}
	return c.Stat(ctx, bucket, key)
}

// RenamePrefix moves a directory atomically: every key under the prefix
// from (ending in "/") to the same name under to, in one change, and
// returns how many keys moved. It is refused when to holds anything but
// its own marker key (ErrConflict), lies inside from or the reverse, the
// bucket is versioned (ErrBadRequest), or the directory is too large for
// one change (more than 10,000 keys or 4 MiB of records: ErrTooLarge);
// refused, nothing moves.
func (c *Client) RenamePrefix(ctx context.Context, bucket, from, to string) (int, error) {
	n, err := c.master.RenamePrefix(ctx, bucket, from, to)
	return n, classify(err)
}

// CreateBucket creates a bucket; an existing one is ErrBucketExists.
func (c *Client) CreateBucket(ctx context.Context, name string) error {
	return c.CreateBucketWith(ctx, BucketSpec{Name: name})
}

// DeleteBucket deletes an empty bucket (ErrBucketNotEmpty otherwise).
func (c *Client) DeleteBucket(ctx context.Context, name string) error {
	return classify(c.master.DeleteBucket(ctx, name))
}

// Bucket returns a bucket's record (ErrNoSuchBucket when there is none).
func (c *Client) Bucket(ctx context.Context, name string) (Bucket, error) {
	b, err := c.master.Bucket(ctx, name)
	return b, classify(err)
}

// Buckets lists all buckets in name order.
func (c *Client) Buckets(ctx context.Context) ([]Bucket, error) {
	bs, err := c.master.Buckets(ctx)
	return bs, classify(err)
}
