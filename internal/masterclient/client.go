// Package masterclient calls the master's HTTP API. It finds the leader
// among the given members, retries calls that failed in a retryable way
// (no leader, leadership lost, network errors) until the context ends, and
// turns error bodies into *proto.Error values.
package masterclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/rpc"
)

// Client talks to a master group. It is safe for concurrent use.
type Client struct {
	masters []string
	rpc     rpc.Config
	http    *http.Client
	// NoRetry makes every call a single attempt against the first address
	// (for tests that pin a member).
	NoRetry bool
	// AttemptTimeout bounds one attempt against one member, so that a
	// member that stopped answering (paused, partitioned: its sockets
	// stay open and nothing fails) costs one attempt, not the caller's
	// whole deadline. Zero means DefaultAttemptTimeout.
	AttemptTimeout time.Duration

	// direct holds the members of this process that take a commit as a
	// direct call (Committer), by address.
	direct map[string]Committer

	mu   sync.Mutex
	last int // index of the member that answered last
}

// Committer is a master in this process that takes an object's commit
// as a direct call, without the HTTP stack around the commit route
// (master.Server.Handler is one). CommitObject commits req under request
// id exactly as the route does and returns what the route answers, errors
// as *proto.Error; ok is false when that member cannot take it here (it
// is not the leader), and the call then goes to the route.
type Committer interface {
	CommitObject(ctx context.Context, id string, req proto.CommitRequest) (obj proto.Object, ok bool, err error)
}

// DefaultAttemptTimeout is the default of Client.AttemptTimeout: well above
// any healthy call (a Raft commit with fsync under load), well below a
// client's patience.
const DefaultAttemptTimeout = 5 * time.Second

// New returns a client for the masters' HTTP addresses that calls them
// over plain http with the cluster secret.
func New(masters []string, secret string) (*Client, error) {
	return NewRPC(masters, rpc.Config{Secret: secret})
}

// callTimeout bounds one call as a whole: master answers are small.
const callTimeout = 30 * time.Second

// NewRPC returns a client for the masters' addresses that calls them with
// rc's scheme and credential.
func NewRPC(masters []string, rc rpc.Config) (*Client, error) {
	return NewInProcess(masters, rc, nil)
}

// NewInProcess is NewRPC for a caller that shares its process with a
// master: calls to an address in local are answered by its handler (the
// master's API, Server.Handler) without a socket (rpc.InProcess), the
// rest go over the network; a handler that is also a Committer takes
// commits as direct calls. Calls are the same either way: request ids,
// retries and answers (a direct call carries no credential: it is the
// process's own code).
func NewInProcess(masters []string, rc rpc.Config, local map[string]http.Handler) (*Client, error) {
	if len(masters) == 0 {
		return nil, errors.New("masterclient: no master addresses")
	}
	hc := rpc.NewClient(rc, rpc.ClientOptions{InProcess: local})
	hc.Timeout = callTimeout
	c := &Client{masters: masters, rpc: rc, http: hc}
	for addr, h := range local {
		if cm, ok := h.(Committer); ok {
			if c.direct == nil {
				c.direct = make(map[string]Committer)
			}
			c.direct[addr] = cm
		}
	}
	return c, nil
}

// Call sends one request with a JSON body (nil for none) and decodes the
// JSON answer into out (nil to discard it).
func (c *Client) Call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	return c.send(ctx, &call{method: method, path: path, query: query, out: out}, in)
}

// change is Call for the changes the master applies at most once: every
// attempt carries one fresh request id.
func (c *Client) change(ctx context.Context, method, path string, in, out any) error {
	return c.send(ctx, &call{method: method, path: path, out: out, id: proto.NewRequestID(time.Now())}, in)
}

func (c *Client) send(ctx context.Context, cl *call, in any) error {
	if in != nil {
		var err error
		if cl.body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("masterclient: encode %s: %w", cl.path, err)
		}
		cl.ctype = "application/json"
	}
	return c.do(ctx, cl)
}

// call is one API call: the request body, already encoded, and where the
// answer goes.
type call struct {
	method, path string
	query        url.Values
	body         []byte // nil for none
	ctype        string // of body
	out          any    // the JSON answer is decoded into it; nil to discard
	// inline, when set, points at the inline bytes inside out: the answer
	// may then carry them raw (proto.MediaTypeRawInline).
	inline *[]byte
	// id, set for the changes the master deduplicates, names the call on
	// every attempt (proto.HeaderRequestID), so the master applies it at
	// most once however many attempts reach it.
	id string
}

// do sends cl to the leader, retrying as Call describes.
func (c *Client) do(ctx context.Context, cl *call) error {
	backoff := 20 * time.Millisecond
	for {
		idx := c.pick()
		actx, cancel := context.WithTimeout(ctx, c.attemptTimeout())
		err := c.once(actx, c.masters[idx], cl)
		cancel()
		if err == nil {
			c.remember(idx)
			return nil
		}
		if c.NoRetry || !retryable(err) || ctx.Err() != nil {
			return err
		}
		c.avoid(idx)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up: %v)", err, ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

// attemptTimeout is AttemptTimeout or its default.
func (c *Client) attemptTimeout() time.Duration {
	if c.AttemptTimeout > 0 {
		return c.AttemptTimeout
	}
	return DefaultAttemptTimeout
}

func (c *Client) pick() int {
	if c.NoRetry {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last // avoid moves it on after every failed attempt
}

func (c *Client) remember(i int) {
	c.mu.Lock()
	c.last = i
	c.mu.Unlock()
}

// avoid moves later calls past member i after it failed, so that they do
// not each wait on a member that stopped answering.
func (c *Client) avoid(i int) {
	c.mu.Lock()
	if c.last == i {
		c.last = (i + 1) % len(c.masters)
	}
	c.mu.Unlock()
}

func retryable(err error) bool {
	var e *proto.Error
	if errors.As(err, &e) {
		return e.Retryable
	}
	return true // transport errors: the member may be down
}

func (c *Client) once(ctx context.Context, addr string, cl *call) error {
	path := cl.path
	if len(cl.query) > 0 {
		path += "?" + cl.query.Encode()
	}
	var rd io.Reader
	if cl.body != nil {
		rd = bytes.NewReader(cl.body)
	}
	req, err := c.rpc.NewRequest(ctx, cl.method, addr, path, rd)
	if err != nil {
		return fmt.Errorf("masterclient: %s %s: %w", cl.method, cl.path, err)
	}
	if cl.body != nil {
		req.Header.Set("Content-Type", cl.ctype)
	}
	if cl.inline != nil {
		req.Header.Set("Accept", proto.MediaTypeRawInline)
	}
	if cl.id != "" {
		req.Header.Set(proto.HeaderRequestID, cl.id)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("masterclient: %s %s on %s: %w", cl.method, cl.path, addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		return proto.ErrorFromResponse(resp)
	}
	if cl.out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := cl.decode(resp); err != nil {
		return fmt.Errorf("masterclient: decode answer to %s %s: %w", cl.method, cl.path, err)
	}
	return nil
}

// decode reads the answer into cl.out (and cl.inline), as JSON or, when the
// master chose it, proto.MediaTypeRawInline.
func (cl *call) decode(resp *http.Response) error {
	dec := json.NewDecoder(resp.Body)
	if cl.inline == nil || resp.Header.Get("Content-Type") != proto.MediaTypeRawInline {
		return dec.Decode(cl.out)
	}
	raw, err := proto.ReadRawInline(dec, resp.Body, cl.out, proto.MaxInlineBytes)
	if err != nil {
		return err
	}
	*cl.inline = raw
	return nil
}

// CreateBucket creates a bucket with the default data policy.
func (c *Client) CreateBucket(ctx context.Context, name string) error {
	return c.change(ctx, http.MethodPut, proto.RouteBuckets+"/"+url.PathEscape(name), nil, nil)
}

// DeleteBucket deletes an empty bucket.
func (c *Client) DeleteBucket(ctx context.Context, name string) error {
	return c.change(ctx, http.MethodDelete, proto.RouteBuckets+"/"+url.PathEscape(name), nil, nil)
}

// Bucket returns a bucket's record.
func (c *Client) Bucket(ctx context.Context, name string) (proto.Bucket, error) {
	var b proto.Bucket
	err := c.Call(ctx, http.MethodGet, proto.RouteBuckets+"/"+url.PathEscape(name), nil, nil, &b)
	return b, err
}

// Buckets lists all buckets in name order.
func (c *Client) Buckets(ctx context.Context) ([]proto.Bucket, error) {
	var bs []proto.Bucket
	err := c.Call(ctx, http.MethodGet, proto.RouteBuckets, nil, nil, &bs)
	return bs, err
}

// Commit makes an object visible atomically and returns the stored record
// (without inline data). Inline data travels raw after the JSON
// (proto.MediaTypeRawInline).
func (c *Client) Commit(ctx context.Context, req proto.CommitRequest) (proto.Object, error) {
	id := proto.NewRequestID(time.Now())
	if o, ok, err := c.commitHere(ctx, id, req); ok {
		return o, err
	}
	var o proto.Object
	inline := req.Object.Inline
	req.Object.Inline = nil
	body, err := proto.AppendRawInline(make([]byte, 0, 512+len(inline)), req, inline)
	if err != nil {
		return o, fmt.Errorf("masterclient: encode %s: %w", proto.RouteObjectCommit, err)
	}
	err = c.do(ctx, &call{method: http.MethodPost, path: proto.RouteObjectCommit,
		body: body, ctype: proto.MediaTypeRawInline, out: &o, id: id})
	return o, err
}

// commitHere makes a commit as a direct call when the member the next call
// would go to is a Committer in this process that can take it (ok);
// otherwise, or when the call failed in a way a retry may not (the member
// lost leadership), the commit goes to the route, whose retries carry the
// same request id, so it is applied at most once either way.
func (c *Client) commitHere(ctx context.Context, id string, req proto.CommitRequest) (o proto.Object, ok bool, err error) {
	idx := c.pick()
	cm := c.direct[c.masters[idx]]
	if cm == nil {
		return o, false, nil
	}
	actx, cancel := context.WithTimeout(ctx, c.attemptTimeout())
	defer cancel()
	o, ok, err = cm.CommitObject(actx, id, req)
	if ok && err != nil && !c.NoRetry && retryable(err) && ctx.Err() == nil {
		return o, false, nil
	}
	return o, ok, err
}

// Stat returns an object's record, inline data included.
func (c *Client) Stat(ctx context.Context, bucket, key string) (proto.Object, error) {
	var o proto.Object
	err := c.Call(ctx, http.MethodGet, proto.RouteObjectStat, url.Values{"bucket": {bucket}, "key": {key}}, nil, &o)
	return o, err
}

// Delete removes an object.
func (c *Client) Delete(ctx context.Context, bucket, key string) error {
	return c.change(ctx, http.MethodPost, proto.RouteObjectDelete, proto.KeyRequest{Bucket: bucket, Key: key}, nil)
}

// DeleteIf removes an object if the request's conditions hold.
func (c *Client) DeleteIf(ctx context.Context, req proto.DeleteRequest) error {
	return c.change(ctx, http.MethodPost, proto.RouteObjectDelete, req, nil)
}

// Rename moves an object to another key of its bucket.
func (c *Client) Rename(ctx context.Context, bucket, from, to string) error {
	return c.change(ctx, http.MethodPost, proto.RouteObjectRename, proto.RenameRequest{Bucket: bucket, From: from, To: to}, nil)
}

// ReplaceExtents lays an object's current version out anew if it is
// still at req.IfVersion.
func (c *Client) ReplaceExtents(ctx context.Context, req proto.ReplaceExtentsRequest) error {
	return c.change(ctx, http.MethodPost, proto.RouteReplaceExtents, req, nil)
}

// SetMeta replaces an object's user metadata in place if its ETag is
// still req.IfETag.
func (c *Client) SetMeta(ctx context.Context, req proto.SetMetaRequest) error {
	return c.change(ctx, http.MethodPost, proto.RouteObjectMeta, req, nil)
}

// RenamePrefix moves every key under the directory prefix from to to, in
// one change, and returns how many moved.
func (c *Client) RenamePrefix(ctx context.Context, bucket, from, to string) (int, error) {
	var res struct {
		Moved int `json:"moved"`
	}
	err := c.change(ctx, http.MethodPost, proto.RoutePrefixRename, proto.RenameRequest{Bucket: bucket, From: from, To: to}, &res)
	return res.Moved, err
}

// List returns one page of keys.
func (c *Client) List(ctx context.Context, req proto.ListRequest) (proto.ListResult, error) {
	q := url.Values{"bucket": {req.Bucket}}
	for k, v := range map[string]string{"prefix": req.Prefix, "delimiter": req.Delimiter, "start-after": req.StartAfter} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if req.MaxKeys > 0 {
		q.Set("max-keys", strconv.Itoa(req.MaxKeys))
	}
	var res proto.ListResult
	err := c.Call(ctx, http.MethodGet, proto.RouteObjectList, q, nil, &res)
	return res, err
}

// AllocateChunks returns n fresh chunk ids.
func (c *Client) AllocateChunks(ctx context.Context, n int) ([]proto.ChunkID, error) {
	var res proto.AllocateResult
	err := c.Call(ctx, http.MethodPost, proto.RouteChunkAllocate, nil, proto.AllocateRequest{Count: n}, &res)
	return res.IDs, err
}

// Status returns the cluster status from the leader.
func (c *Client) Status(ctx context.Context) (proto.Status, error) {
	var st proto.Status
	err := c.Call(ctx, http.MethodGet, proto.RouteStatus, nil, nil, &st)
	return st, err
}

// RemoveMember removes a voter from the master group.
func (c *Client) RemoveMember(ctx context.Context, id proto.NodeID) error {
	return c.Call(ctx, http.MethodDelete, proto.RouteMembers+"/"+url.PathEscape(string(id)), nil, nil, nil)
}

// CreateUser creates a user.
func (c *Client) CreateUser(ctx context.Context, name string) (proto.User, error) {
	var u proto.User
	err := c.Call(ctx, http.MethodPost, proto.RouteUsers, nil, proto.CreateUserRequest{Name: name}, &u)
	return u, err
}

// CreateKey creates an access key (generated when the fields are empty).
func (c *Client) CreateKey(ctx context.Context, req proto.CreateKeyRequest) (proto.AccessKey, error) {
	var k proto.AccessKey
	err := c.Call(ctx, http.MethodPost, proto.RouteKeys, nil, req, &k)
	return k, err
}

// Key returns an access key with its secret.
func (c *Client) Key(ctx context.Context, access string) (proto.AccessKey, error) {
	var k proto.AccessKey
	err := c.Call(ctx, http.MethodGet, proto.RouteKeys+"/"+url.PathEscape(access), nil, nil, &k)
	return k, err
}

// ListLocal asks one member (by address) for a page of its local, possibly
// stale, state, without retries.
func (c *Client) ListLocal(ctx context.Context, addr string, req proto.ListRequest) (proto.ListResult, error) {
	q := url.Values{"bucket": {req.Bucket}, "stale": {"1"}}
	if req.StartAfter != "" {
		q.Set("start-after", req.StartAfter)
	}
	if req.Prefix != "" {
		q.Set("prefix", req.Prefix)
	}
	var res proto.ListResult
	err := c.once(ctx, addr, &call{method: http.MethodGet, path: proto.RouteObjectList, query: q, out: &res})
	return res, err
}

// ListAll lists every object under req (without a delimiter), following
// the pages: from the leader when addr is "", else from the member at addr
// (its own, possibly stale, state; without retries).
func (c *Client) ListAll(ctx context.Context, addr string, req proto.ListRequest) ([]proto.Object, error) {
	var all []proto.Object
	for {
		var res proto.ListResult
		var err error
		if addr == "" {
			res, err = c.List(ctx, req)
		} else {
			res, err = c.ListLocal(ctx, addr, req)
		}
		if err != nil {
			return all, err
		}
		all = append(all, res.Objects...)
		if !res.IsTruncated {
			return all, nil
		}
		req.StartAfter = res.NextStartAfter
	}
}

// Health asks one member (by address) for its own view, without retries.
func (c *Client) Health(ctx context.Context, addr string) (proto.Health, error) {
	var h proto.Health
	err := c.once(ctx, addr, &call{method: http.MethodGet, path: proto.RouteHealth, out: &h})
	return h, err
}

// Config returns what clients need to write data.
func (c *Client) Config(ctx context.Context) (proto.ClusterConfig, error) {
	var cfg proto.ClusterConfig
	err := c.Call(ctx, http.MethodGet, proto.RouteConfig, nil, nil, &cfg)
	return cfg, err
}

// Allocate returns fresh chunks with pipeline targets.
func (c *Client) Allocate(ctx context.Context, req proto.AllocateRequest) ([]proto.ChunkTargets, error) {
	var res proto.AllocateResult
	err := c.Call(ctx, http.MethodPost, proto.RouteChunkAllocate, nil, req, &res)
	return res.Chunks, err
}

// Locate returns an object's record and its chunks' live replicas. It asks
// for inline data raw (proto.MediaTypeRawInline) and takes JSON too.
func (c *Client) Locate(ctx context.Context, bucket, key string) (proto.Located, error) {
	var l proto.Located
	err := c.do(ctx, &call{method: http.MethodGet, path: proto.RouteObjectLocate,
		query: url.Values{"bucket": {bucket}, "key": {key}}, out: &l, inline: &l.Object.Inline})
	return l, err
}

// ReportCorrupt tells the master a replica failed verification.
func (c *Client) ReportCorrupt(ctx context.Context, rep proto.CorruptReport) error {
	return c.Call(ctx, http.MethodPost, proto.RouteChunkCorrupt, nil, rep, nil)
}

// Register adds a chunk server to the registry.
func (c *Client) Register(ctx context.Context, req proto.RegisterRequest) error {
	return c.Call(ctx, http.MethodPost, proto.RouteChunkServers, nil, req, nil)
}

// Heartbeat sends a chunk server's report.
func (c *Client) Heartbeat(ctx context.Context, hb proto.HeartbeatRequest) (proto.HeartbeatReply, error) {
	var r proto.HeartbeatReply
	err := c.Call(ctx, http.MethodPost, proto.RouteChunkServers+"/heartbeat", nil, hb, &r)
	return r, err
}

// Renew tells the master a writer still holds these chunks.
func (c *Client) Renew(ctx context.Context, ids []proto.ChunkID) error {
	return c.Call(ctx, http.MethodPost, proto.RouteChunkRenew, nil, proto.RenewRequest{IDs: ids}, nil)
}

// Decommission starts draining a chunk server.
func (c *Client) Decommission(ctx context.Context, id proto.NodeID) error {
	return c.Call(ctx, http.MethodPost, proto.RouteChunkServers+"/"+url.PathEscape(string(id))+"/decommission", nil, nil, nil)
}

// CreateUpload starts a multipart upload; the master chooses its id.
func (c *Client) CreateUpload(ctx context.Context, u proto.Upload) (proto.Upload, error) {
	var out proto.Upload
	err := c.change(ctx, http.MethodPost, proto.RouteUploads+"/create", u, &out)
	return out, err
}

// PutPart commits an uploaded part and returns its stored record.
func (c *Client) PutPart(ctx context.Context, req proto.PartRequest) (proto.Part, error) {
	var p proto.Part
	err := c.change(ctx, http.MethodPost, proto.RouteUploads+"/part", req, &p)
	return p, err
}

// CompleteUpload stitches parts into the object.
func (c *Client) CompleteUpload(ctx context.Context, req proto.CompleteRequest) (proto.Object, error) {
	var o proto.Object
	err := c.change(ctx, http.MethodPost, proto.RouteUploads+"/complete", req, &o)
	return o, err
}

// AbortUpload drops an upload and frees its parts.
func (c *Client) AbortUpload(ctx context.Context, ref proto.UploadRef) error {
	return c.change(ctx, http.MethodPost, proto.RouteUploads+"/abort", ref, nil)
}

// ListParts returns an upload and its parts.
func (c *Client) ListParts(ctx context.Context, bucket, id string) (proto.Upload, []proto.Part, error) {
	var out struct {
		Upload proto.Upload `json:"upload"`
		Parts  []proto.Part `json:"parts"`
	}
	err := c.Call(ctx, http.MethodGet, proto.RouteUploads+"/parts", url.Values{"bucket": {bucket}, "uploadId": {id}}, nil, &out)
	return out.Upload, out.Parts, err
}

// ListUploads returns a bucket's in-progress uploads under a key prefix.
func (c *Client) ListUploads(ctx context.Context, bucket, prefix string) ([]proto.Upload, error) {
	var out []proto.Upload
	err := c.Call(ctx, http.MethodGet, proto.RouteUploads, url.Values{"bucket": {bucket}, "prefix": {prefix}}, nil, &out)
	return out, err
}

// Users lists the users in name order.
func (c *Client) Users(ctx context.Context) ([]proto.User, error) {
	var us []proto.User
	err := c.Call(ctx, http.MethodGet, proto.RouteUsers, nil, nil, &us)
	return us, err
}

// DeleteKey deletes an access key.
func (c *Client) DeleteKey(ctx context.Context, access string) error {
	return c.Call(ctx, http.MethodDelete, proto.RouteKeys+"/"+url.PathEscape(access), nil, nil, nil)
}

// ChunkServers lists the chunk servers in the registry with their state.
func (c *Client) ChunkServers(ctx context.Context) ([]proto.ChunkServer, error) {
	var cs []proto.ChunkServer
	err := c.Call(ctx, http.MethodGet, proto.RouteChunkServers, nil, nil, &cs)
	return cs, err
}

// AddMember adds a master to the group as a voter.
func (c *Client) AddMember(ctx context.Context, req proto.JoinRequest) error {
	return c.Call(ctx, http.MethodPost, proto.RouteJoin, nil, req, nil)
}
