// Package authz decides whether a principal may do an S3 action on a
// bucket or an object. Authentication (the gateway's server.go) yields a principal: the root
// user, a stored user with the access policies attached to it, or
// anonymous. Every operation names its IAM action in the dispatch table,
// and Authorize decides before the handler runs, as AWS evaluates a
// request within one account:
//
//  1. the root user may do everything;
//  2. an explicit Deny in the user's policies or the bucket policy refuses;
//  3. an Allow in either grants;
//  4. the bucket's owner may do everything on the bucket and its objects;
//  5. when the bucket has ACLs enabled (object ownership other than
//     BucketOwnerEnforced), a grant in the bucket's or the object's ACL
//     grants;
//  6. anything else is AccessDenied, and changes nothing.
//
// Anonymous requests get only what a bucket policy grants to "*" or an
// ACL grants to AllUsers, and neither when the bucket's public access
// block says so.
package authz

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3acl"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/internal/policy"
	"github.com/granary-store/granary/internal/proto"
)

// Store is what an Authorizer reads: the records of buckets and objects
// (*client.Client's Bucket, and an object's latest version or version
// vid). It is called concurrently.
type Store interface {
	Bucket(ctx context.Context, name string) (client.Bucket, error)
	Object(ctx context.Context, bucket, key, vid string) (client.ObjectInfo, error)
}

// Authorizer answers authorization questions. It caches bucket records
// (bucketTTL) and parsed policies; it is safe for concurrent use.
type Authorizer struct {
	store    Store
	now      func() time.Time
	log      *slog.Logger
	buckets  bucketCache
	policies policyCache
}

// New returns an Authorizer reading store, with the clock now; log takes
// the warnings about stored policies that do not parse.
func New(store Store, now func() time.Time, log *slog.Logger) *Authorizer {
	return &Authorizer{store: store, now: now, log: log,
		buckets: bucketCache{m: map[string]cachedBucket{}}, policies: policyCache{m: map[string]*policy.Policy{}}}
}

// accountID is the one AWS account Granary's users live in, as ARNs name it.
const accountID = "000000000000"

// Principal is who a request comes from. It is not changed once made.
type Principal struct {
	Anonymous bool
	Root      bool
	User      string // user name ("" when anonymous)
	AccessKey string
	SigVer    string // "AWS4-HMAC-SHA256", "AWS" (V2), "" when anonymous
	AuthType  string // REST-HEADER, REST-QUERY-STRING, POST
	Policies  []*policy.Policy
	// TagConditions: some policy of the user reads s3:ExistingObjectTag,
	// so object requests look the object's tags up.
	TagConditions bool
}

// Anonymous is the principal of an unsigned request.
var Anonymous = &Principal{Anonymous: true}

// names are the strings a policy's Principal may use for p.
func (p *Principal) names() []string {
	if p.Anonymous {
		return nil
	}
	return []string{"arn:aws:iam::" + accountID + ":user/" + p.User, p.User, proto.CanonicalID(p.User)}
}

// Bucket records are cached for authorization for bucketTTL: a change of
// policy, ACL or owner made through another gateway takes effect here
// within that time (at once through this one, which drops its entry).
const (
	bucketTTL        = time.Second
	maxCachedBuckets = 4096
)

type cachedBucket struct {
	b     client.Bucket
	err   error
	until time.Time
}

type bucketCache struct {
	mu sync.Mutex
	m  map[string]cachedBucket
}

// Bucket returns the record of bucket, from the cache when fresh.
func (z *Authorizer) Bucket(ctx context.Context, name string) (client.Bucket, error) {
	now := z.now()
	z.buckets.mu.Lock()
	c, ok := z.buckets.m[name]
	z.buckets.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.b, nil
	}
	b, err := z.store.Bucket(ctx, name)
	if err != nil {
		return b, err // not cached: a bucket made through another gateway exists at once
	}
	z.buckets.mu.Lock()
	if len(z.buckets.m) >= maxCachedBuckets {
		clear(z.buckets.m)
	}
	z.buckets.m[name] = cachedBucket{b: b, until: now.Add(bucketTTL)}
	z.buckets.mu.Unlock()
	return b, err
}

// Forget drops name's cached record after a change through this
// gateway.
func (z *Authorizer) Forget(name string) {
	z.buckets.mu.Lock()
	delete(z.buckets.m, name)
	z.buckets.mu.Unlock()
}

func isNoSuchBucket(err error) bool {
	return errors.Is(err, client.ErrNoSuchBucket)
}

// Access is one authorization question.
type Access struct {
	P       *Principal
	Action  string
	Bucket  string
	Key     string // "" for a bucket-level action
	Version string
}

// resourceARN names a bucket or an object as policies do.
func resourceARN(bucket, key string) string {
	if key == "" {
		return "arn:aws:s3:::" + bucket
	}
	return "arn:aws:s3:::" + bucket + "/" + key
}

// Authorize answers whether a may happen: nil, or an AccessDenied (or the
// error that kept it from deciding).
func (z *Authorizer) Authorize(r *http.Request, a Access) error {
	if a.P.Root {
		return nil
	}
	b, err := z.Bucket(r.Context(), a.Bucket)
	if isNoSuchBucket(err) {
		return nil // the operation answers NoSuchBucket, as S3 does
	}
	if err != nil {
		return err
	}
	return z.AuthorizeIn(r, a, b)
}

// AuthorizeIn decides a against the bucket record b.
func (z *Authorizer) AuthorizeIn(r *http.Request, a Access, b client.Bucket) error {
	if a.P.Root {
		return nil
	}
	ctx := z.conditionContext(r, a)
	req := policy.Request{Principals: a.P.names(), Anonymous: a.P.Anonymous, Action: a.Action,
		Resource: resourceARN(a.Bucket, a.Key), Context: ctx}
	ps := a.P.Policies
	if bp := z.bucketPolicy(b, a.P); bp != nil {
		ps = append(ps[:len(ps):len(ps)], bp)
	}
	if a.Key != "" && (a.P.TagConditions || strings.Contains(strings.ToLower(b.Policy), "existingobjecttag")) {
		z.addObjectTags(r, a, ctx)
	}
	switch policy.EvaluateAll(ps, req) {
	case policy.Deny:
		return Denied()
	case policy.Allow:
		return nil
	}
	if !a.P.Anonymous && a.P.User == s3acl.BucketOwner(b) {
		return nil
	}
	if perm, onObject := s3acl.Permission(a.Action); perm != "" && s3acl.Enabled(b) {
		if onObject && a.Key != "" {
			if z.objectACLGrants(r, a, b, perm) {
				return nil
			}
		} else if s3acl.Grants(b.ACL, a.P.User, a.P.Anonymous, perm, s3acl.IgnorePublic(b)) {
			return nil
		}
	}
	return Denied()
}

// Denied is the AccessDenied refusal of a request authorization refuses.
func Denied() error { return s3err.New(s3err.AccessDenied, "Access Denied") }

// bucketPolicy returns b's policy as it applies to p: none for an
// anonymous caller when the public access block restricts a public
// policy to the owner's users.
func (z *Authorizer) bucketPolicy(b client.Bucket, p *Principal) *policy.Policy {
	if b.Policy == "" {
		return nil
	}
	bp, err := z.ParsedPolicy(b.Policy)
	if err != nil {
		z.log.Warn("stored bucket policy does not parse; ignoring it", "bucket", b.Name, "err", err)
		return nil
	}
	if p.Anonymous && b.PublicAccessBlock != nil && b.PublicAccessBlock.RestrictPublicBuckets && bp.IsPublic() {
		return nil
	}
	return bp
}

// ParsedPolicy parses a policy document, remembering recent ones.
func (z *Authorizer) ParsedPolicy(doc string) (*policy.Policy, error) {
	z.policies.mu.Lock()
	p, ok := z.policies.m[doc]
	z.policies.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		return nil, err
	}
	z.policies.mu.Lock()
	if len(z.policies.m) >= 1024 {
		clear(z.policies.m)
	}
	z.policies.m[doc] = p
	z.policies.mu.Unlock()
	return p, nil
}

type policyCache struct {
	mu sync.Mutex
	m  map[string]*policy.Policy
}

// objectACLGrants looks the object up and checks its ACL: its owner (the
// writer under ObjectWriter) holds every permission.
func (z *Authorizer) objectACLGrants(r *http.Request, a Access, b client.Bucket, perm string) bool {
	o, err := z.store.Object(r.Context(), a.Bucket, a.Key, a.Version)
	if err != nil {
		return false
	}
	if !a.P.Anonymous && o.Owner != "" && o.Owner == a.P.User {
		return true
	}
	return s3acl.Grants(o.ACL, a.P.User, a.P.Anonymous, perm, s3acl.IgnorePublic(b))
}

// addObjectTags puts the object's tags in the condition context as
// s3:ExistingObjectTag/<key>.
func (z *Authorizer) addObjectTags(r *http.Request, a Access, ctx map[string][]string) {
	o, err := z.store.Object(r.Context(), a.Bucket, a.Key, a.Version)
	if err != nil || o.Tagging == "" {
		return
	}
	tags, err := proto.ParseTags(o.Tagging)
	if err != nil {
		return
	}
	for k, v := range tags {
		ctx["s3:ExistingObjectTag/"+k] = []string{v}
	}
}

// conditionContext gathers the condition keys of a request.
func (z *Authorizer) conditionContext(r *http.Request, a Access) map[string][]string {
	now := z.now().UTC()
	c := map[string][]string{
		"aws:SecureTransport": {strconv.FormatBool(r.TLS != nil)},
		"aws:CurrentTime":     {now.Format(time.RFC3339)},
		"aws:EpochTime":       {strconv.FormatInt(now.Unix(), 10)},
	}
	if ip := SourceIP(r); ip != "" {
		c["aws:SourceIp"] = []string{ip}
	}
	if v := r.Header.Get("Referer"); v != "" {
		c["aws:Referer"] = []string{v}
	}
	if v := r.Header.Get("User-Agent"); v != "" {
		c["aws:UserAgent"] = []string{v}
	}
	if a.P.Anonymous {
		c["aws:PrincipalType"] = []string{"Anonymous"}
	} else {
		c["aws:PrincipalType"] = []string{"User"}
		c["aws:username"] = []string{a.P.User}
		c["aws:userid"] = []string{proto.CanonicalID(a.P.User)}
		c["aws:PrincipalArn"] = []string{"arn:aws:iam::" + accountID + ":user/" + a.P.User}
		c["aws:PrincipalAccount"] = []string{accountID}
		c["s3:signatureversion"] = []string{a.P.SigVer}
		c["s3:authType"] = []string{a.P.AuthType}
	}
	q := r.URL.Query()
	for _, k := range []string{"prefix", "delimiter", "max-keys"} {
		if q.Has(k) {
			c["s3:"+k] = []string{q.Get(k)}
		}
	}
	if a.Version != "" {
		c["s3:versionid"] = []string{a.Version}
	}
	for _, h := range []string{"x-amz-acl", "x-amz-content-sha256", "x-amz-copy-source", "x-amz-storage-class",
		"x-amz-metadata-directive", "x-amz-server-side-encryption", "x-amz-object-lock-mode",
		"x-amz-object-lock-retain-until-date", "x-amz-object-lock-legal-hold"} {
		if v := r.Header.Get(h); v != "" {
			c["s3:"+h] = []string{v}
		}
	}
	if tags, err := proto.ParseTags(r.Header.Get("x-amz-tagging")); err == nil {
		keys := make([]string, 0, len(tags))
		for k, v := range tags {
			c["s3:RequestObjectTag/"+k] = []string{v}
			keys = append(keys, k)
		}
		if len(keys) > 0 {
			c["s3:RequestObjectTagKeys"] = keys
		}
	}
	return c
}

// SourceIP is the address the request came from (the peer; Granary does
// not trust forwarding headers).
func SourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return strings.Trim(r.RemoteAddr, "[]")
	}
	return host
}
