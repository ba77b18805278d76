package client

import (
	"context"

	"github.com/granary-store/granary/internal/masterclient"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/rpc"
)

// Admin manages a cluster: its status, the master group, the chunk servers,
// users and access keys, and buckets. It is a thin layer over the master
// API with the same leader finding and retries as Client, and the same
// errors (ErrNotFound, ErrBucketExists, ErrUnavailable, ...). An Admin is
// safe for concurrent use; it holds no resources that need closing.
type Admin struct {
	master *masterclient.Client
	data   *Client // the Client it came from (Client.Admin), for Convert; nil from NewAdmin
}

// NewAdmin returns an Admin for the masters in cfg (only Masters and
// Secret are used).
func NewAdmin(cfg Config) (*Admin, error) {
	mc, err := masterclient.NewRPC(cfg.Masters, rpc.Config{Secret: cfg.Secret, TLS: cfg.TLS})
	if err != nil {
		return nil, err
	}
	return &Admin{master: mc}, nil
}

// Admin returns an Admin that shares the client's master connections.
func (c *Client) Admin() *Admin { return &Admin{master: c.master, data: c} }

// Status returns the cluster status from the leader.
func (a *Admin) Status(ctx context.Context) (Status, error) {
	st, err := a.master.Status(ctx)
	return st, classify(err)
}

// Health asks the one master at addr (an HTTP address) for its own view,
// without looking for the leader and without retries.
func (a *Admin) Health(ctx context.Context, addr string) (Health, error) {
	h, err := a.master.Health(ctx, addr)
	return h, classify(err)
}

// Members returns the master group as the leader's status reports it.
func (a *Admin) Members(ctx context.Context) ([]Member, error) {
	st, err := a.Status(ctx)
	return st.Members, err
}

// AddMember adds the master id, reachable at raftAddr (Raft) and httpAddr
// (API), to the group as a voter. The new master must be running and not
// bootstrapped on its own.
func (a *Admin) AddMember(ctx context.Context, id NodeID, raftAddr, httpAddr string) error {
	return classify(a.master.AddMember(ctx, proto.JoinRequest{ID: id, RaftAddr: raftAddr, HTTPAddr: httpAddr}))
}

// RemoveMember removes the master id from the group.
func (a *Admin) RemoveMember(ctx context.Context, id NodeID) error {
	return classify(a.master.RemoveMember(ctx, id))
}

// ChunkServers lists the registered chunk servers with their state.
func (a *Admin) ChunkServers(ctx context.Context) ([]ChunkServer, error) {
	cs, err := a.master.ChunkServers(ctx)
	return cs, classify(err)
}

// Decommission starts draining the chunk server id: its chunks are copied
// elsewhere, then it is decommissioned.
func (a *Admin) Decommission(ctx context.Context, id NodeID) error {
	return classify(a.master.Decommission(ctx, id))
}

// Users lists the users in name order.
func (a *Admin) Users(ctx context.Context) ([]User, error) {
	us, err := a.master.Users(ctx)
	return us, classify(err)
}

// CreateUser creates a user.
func (a *Admin) CreateUser(ctx context.Context, name string) (User, error) {
	u, err := a.master.CreateUser(ctx, name)
	return u, classify(err)
}

// Key returns an access key with its secret (ErrNotFound when there is no
// such key).
func (a *Admin) Key(ctx context.Context, accessKey string) (AccessKey, error) {
	k, err := a.master.Key(ctx, accessKey)
	return k, classify(err)
}

// Keys lists the access keys of user (every user's when user is empty),
// sorted by access key, without their secrets.
func (a *Admin) Keys(ctx context.Context, user string) ([]AccessKey, error) {
	ks, err := a.master.Keys(ctx, user)
	return ks, classify(err)
}

// CreateKey creates an S3 access key for user and returns it with its
// secret. Empty accessKey and secretKey are generated; set both to import
// a known pair.
func (a *Admin) CreateKey(ctx context.Context, user, accessKey, secretKey string) (AccessKey, error) {
	k, err := a.master.CreateKey(ctx, proto.CreateKeyRequest{User: user, AccessKey: accessKey, SecretKey: secretKey})
	return k, classify(err)
}

// DeleteKey deletes an access key.
func (a *Admin) DeleteKey(ctx context.Context, accessKey string) error {
	return classify(a.master.DeleteKey(ctx, accessKey))
}

// Buckets lists all buckets in name order.
func (a *Admin) Buckets(ctx context.Context) ([]Bucket, error) {
	bs, err := a.master.Buckets(ctx)
	return bs, classify(err)
}

// Bucket returns a bucket's record (ErrNoSuchBucket when there is none).
func (a *Admin) Bucket(ctx context.Context, name string) (Bucket, error) {
	b, err := a.master.Bucket(ctx, name)
	return b, classify(err)
}

// CreateBucket creates a bucket with the cluster's default data policy.
func (a *Admin) CreateBucket(ctx context.Context, name string) error {
	return classify(a.master.CreateBucket(ctx, name))
}

// DeleteBucket deletes an empty bucket.
func (a *Admin) DeleteBucket(ctx context.Context, name string) error {
	return classify(a.master.DeleteBucket(ctx, name))
}
