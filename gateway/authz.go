package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/policy"
	"github.com/granary-store/granary/internal/proto"
)

// Authorization. Authentication (server.go) yields a principal: the root
// user, a stored user with the access policies attached to it, or
// anonymous. Every operation names its IAM action in the dispatch table,
// and authorize decides before the handler runs, as AWS evaluates a
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

// accountID is the one AWS account Granary's users live in, as ARNs name it.
const accountID = "000000000000"

// principal is who a request comes from.
type principal struct {
	anonymous bool
	root      bool
	user      string // user name ("" when anonymous)
	accessKey string
	sigVer    string // "AWS4-HMAC-SHA256", "AWS" (V2), "" when anonymous
	authType  string // REST-HEADER, REST-QUERY-STRING, POST
	policies  []*policy.Policy
	// tagConditions: some policy of the user reads s3:ExistingObjectTag,
	// so object requests look the object's tags up.
	tagConditions bool
}

var anonymous = &principal{anonymous: true}

type principalKey struct{}

func withPrincipal(r *http.Request, p *principal) *http.Request {
	if op := noteOf(r); op != nil {
		op.p = p
	}
	return r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
}

// principalOf returns the request's principal (anonymous when none).
func principalOf(r *http.Request) *principal {
	if p, ok := r.Context().Value(principalKey{}).(*principal); ok {
		return p
	}
	return anonymous
}

// names are the strings a policy's Principal may use for p.
func (p *principal) names() []string {
	if p.anonymous {
		return nil
	}
	return []string{"arn:aws:iam::" + accountID + ":user/" + p.user, p.user, proto.CanonicalID(p.user)}
}

// owner is the XML Owner of user.
func ownerOf(user string) ownerXML {
	if user == "" {
		user = rootUser
	}
	return ownerXML{ID: proto.CanonicalID(user), DisplayName: user}
}

// rootUser owns the buckets created before buckets had owners.
const rootUser = "root"

// bucketOwner is the owner of b (root for buckets older than ownership).
func bucketOwner(b client.Bucket) string {
	if b.Owner == "" {
		return rootUser
	}
	return b.Owner
}

// aclsEnabled reports whether b's ACLs take part in authorization.
func aclsEnabled(b client.Bucket) bool { return b.Ownership != ownershipEnforced }

const (
	ownershipEnforced  = "BucketOwnerEnforced"
	ownershipPreferred = "BucketOwnerPreferred"
	ownershipWriter    = "ObjectWriter"
)

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

// bucketInfo returns the record of bucket, from the cache when fresh.
func (s *Server) bucketInfo(ctx context.Context, name string) (client.Bucket, error) {
	now := s.now()
	s.buckets.mu.Lock()
	c, ok := s.buckets.m[name]
	s.buckets.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.b, nil
	}
	b, err := s.client.Bucket(ctx, name)
	if err != nil {
		return b, err // not cached: a bucket made through another gateway exists at once
	}
	s.buckets.mu.Lock()
	if len(s.buckets.m) >= maxCachedBuckets {
		clear(s.buckets.m)
	}
	s.buckets.m[name] = cachedBucket{b: b, until: now.Add(bucketTTL)}
	s.buckets.mu.Unlock()
	return b, err
}

// forgetBucket drops name's cached record after a change through this
// gateway.
func (s *Server) forgetBucket(name string) {
	s.buckets.mu.Lock()
	delete(s.buckets.m, name)
	s.buckets.mu.Unlock()
}

func isNoSuchBucket(err error) bool {
	return errors.Is(err, client.ErrNoSuchBucket)
}

// objectInfo returns the record of an object's latest version or of
// version vid.
func (s *Server) objectInfo(ctx context.Context, bucket, key, vid string) (client.ObjectInfo, error) {
	if vid == "" {
		return s.client.Stat(ctx, bucket, key)
	}
	obj, err := s.client.OpenVersion(ctx, bucket, key, vid)
	if err != nil {
		return client.ObjectInfo{}, err
	}
	return obj.Info(), nil
}

// access is one authorization question.
type access struct {
	p       *principal
	action  string
	bucket  string
	key     string // "" for a bucket-level action
	version string
}

// ACL permissions.
const (
	aclRead        = "READ"
	aclWrite       = "WRITE"
	aclReadACP     = "READ_ACP"
	aclWriteACP    = "WRITE_ACP"
	aclFullControl = "FULL_CONTROL"
)

// aclPermission is the ACL permission that grants action, and whether it
// is read from the object's ACL ("" when no ACL grant can allow it).
func aclPermission(action string) (perm string, onObject bool) {
	switch action {
	case "s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads":
		return aclRead, false
	case "s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload",
		"s3:ListMultipartUploadParts":
		return aclWrite, false
	case "s3:GetBucketAcl":
		return aclReadACP, false
	case "s3:PutBucketAcl":
		return aclWriteACP, false
	case "s3:GetObject", "s3:GetObjectVersion":
		return aclRead, true
	case "s3:GetObjectAcl", "s3:GetObjectVersionAcl":
		return aclReadACP, true
	case "s3:PutObjectAcl", "s3:PutObjectVersionAcl":
		return aclWriteACP, true
	}
	return "", false
}

// resourceARN names a bucket or an object as policies do.
func resourceARN(bucket, key string) string {
	if key == "" {
		return "arn:aws:s3:::" + bucket
	}
	return "arn:aws:s3:::" + bucket + "/" + key
}

// authorize answers whether a may happen: nil, or an AccessDenied (or the
// error that kept it from deciding).
func (s *Server) authorize(r *http.Request, a access) error {
	if a.p.root {
		return nil
	}
	b, err := s.bucketInfo(r.Context(), a.bucket)
	if isNoSuchBucket(err) {
		return nil // the operation answers NoSuchBucket, as S3 does
	}
	if err != nil {
		return err
	}
	return s.authorizeIn(r, a, b)
}

// authorizeIn decides a against the bucket record b.
func (s *Server) authorizeIn(r *http.Request, a access, b client.Bucket) error {
	if a.p.root {
		return nil
	}
	ctx := s.conditionContext(r, a)
	req := policy.Request{Principals: a.p.names(), Anonymous: a.p.anonymous, Action: a.action,
		Resource: resourceARN(a.bucket, a.key), Context: ctx}
	ps := a.p.policies
	if bp := s.bucketPolicy(b, a.p); bp != nil {
		ps = append(ps[:len(ps):len(ps)], bp)
	}
	if a.key != "" && (a.p.tagConditions || strings.Contains(strings.ToLower(b.Policy), "existingobjecttag")) {
		s.addObjectTags(r, a, ctx)
	}
	switch policy.EvaluateAll(ps, req) {
	case policy.Deny:
		return denied()
	case policy.Allow:
		return nil
	}
	if !a.p.anonymous && a.p.user == bucketOwner(b) {
		return nil
	}
	if perm, onObject := aclPermission(a.action); perm != "" && aclsEnabled(b) {
		if onObject && a.key != "" {
			if s.objectACLGrants(r, a, b, perm) {
				return nil
			}
		} else if grants(b.ACL, a.p, perm, ignorePublicACLs(b)) {
			return nil
		}
	}
	return denied()
}

func denied() error { return errorf(ErrAccessDenied, "Access Denied") }

// bucketPolicy returns b's policy as it applies to p: none for an
// anonymous caller when the public access block restricts a public
// policy to the owner's users.
func (s *Server) bucketPolicy(b client.Bucket, p *principal) *policy.Policy {
	if b.Policy == "" {
		return nil
	}
	bp, err := s.parsedPolicy(b.Policy)
	if err != nil {
		s.log.Warn("stored bucket policy does not parse; ignoring it", "bucket", b.Name, "err", err)
		return nil
	}
	if p.anonymous && b.PublicAccessBlock != nil && b.PublicAccessBlock.RestrictPublicBuckets && bp.IsPublic() {
		return nil
	}
	return bp
}

// parsedPolicy parses a policy document, remembering recent ones.
func (s *Server) parsedPolicy(doc string) (*policy.Policy, error) {
	s.policies.mu.Lock()
	p, ok := s.policies.m[doc]
	s.policies.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		return nil, err
	}
	s.policies.mu.Lock()
	if len(s.policies.m) >= 1024 {
		clear(s.policies.m)
	}
	s.policies.m[doc] = p
	s.policies.mu.Unlock()
	return p, nil
}

type policyCache struct {
	mu sync.Mutex
	m  map[string]*policy.Policy
}

func ignorePublicACLs(b client.Bucket) bool {
	return b.PublicAccessBlock != nil && b.PublicAccessBlock.IgnorePublicAcls
}

// grants reports whether acl gives p perm (FULL_CONTROL gives all).
func grants(acl *client.ACL, p *principal, perm string, ignorePublic bool) bool {
	if acl == nil {
		return false
	}
	id := ""
	if !p.anonymous {
		id = proto.CanonicalID(p.user)
		if p.user == acl.Owner {
			return true
		}
	}
	for _, g := range acl.Grants {
		if g.Permission != perm && g.Permission != aclFullControl {
			continue
		}
		switch {
		case g.Grantee.Type == "CanonicalUser" && id != "" && (g.Grantee.ID == id || g.Grantee.User == p.user):
			return true
		case g.Grantee.Type == "Group" && g.Grantee.URI == proto.GroupAllUsers && !ignorePublic:
			return true
		case g.Grantee.Type == "Group" && g.Grantee.URI == proto.GroupAuthenticatedUsers && !p.anonymous && !ignorePublic:
			return true
		}
	}
	return false
}

// objectACLGrants looks the object up and checks its ACL: its owner (the
// writer under ObjectWriter) holds every permission.
func (s *Server) objectACLGrants(r *http.Request, a access, b client.Bucket, perm string) bool {
	o, err := s.objectInfo(r.Context(), a.bucket, a.key, a.version)
	if err != nil {
		return false
	}
	if !a.p.anonymous && o.Owner != "" && o.Owner == a.p.user {
		return true
	}
	return grants(o.ACL, a.p, perm, ignorePublicACLs(b))
}

// addObjectTags puts the object's tags in the condition context as
// s3:ExistingObjectTag/<key>.
func (s *Server) addObjectTags(r *http.Request, a access, ctx map[string][]string) {
	o, err := s.objectInfo(r.Context(), a.bucket, a.key, a.version)
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
func (s *Server) conditionContext(r *http.Request, a access) map[string][]string {
	now := s.now().UTC()
	c := map[string][]string{
		"aws:SecureTransport": {strconv.FormatBool(r.TLS != nil)},
		"aws:CurrentTime":     {now.Format(time.RFC3339)},
		"aws:EpochTime":       {strconv.FormatInt(now.Unix(), 10)},
	}
	if ip := sourceIP(r); ip != "" {
		c["aws:SourceIp"] = []string{ip}
	}
	if v := r.Header.Get("Referer"); v != "" {
		c["aws:Referer"] = []string{v}
	}
	if v := r.Header.Get("User-Agent"); v != "" {
		c["aws:UserAgent"] = []string{v}
	}
	if a.p.anonymous {
		c["aws:PrincipalType"] = []string{"Anonymous"}
	} else {
		c["aws:PrincipalType"] = []string{"User"}
		c["aws:username"] = []string{a.p.user}
		c["aws:userid"] = []string{proto.CanonicalID(a.p.user)}
		c["aws:PrincipalArn"] = []string{"arn:aws:iam::" + accountID + ":user/" + a.p.user}
		c["aws:PrincipalAccount"] = []string{accountID}
		c["s3:signatureversion"] = []string{a.p.sigVer}
		c["s3:authType"] = []string{a.p.authType}
	}
	q := r.URL.Query()
	for _, k := range []string{"prefix", "delimiter", "max-keys"} {
		if q.Has(k) {
			c["s3:"+k] = []string{q.Get(k)}
		}
	}
	if a.version != "" {
		c["s3:versionid"] = []string{a.version}
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

// sourceIP is the address the request came from (the peer; Granary does
// not trust forwarding headers).
func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return strings.Trim(r.RemoteAddr, "[]")
	}
	return host
}

// authorizeDelete decides one key of a DeleteObjects request: the delete
// (of a version, with vid), and the governance bypass when it asks for
// one.
func (s *Server) authorizeDelete(r *http.Request, bucket, key, vid string, bypass bool) error {
	a := access{p: principalOf(r), action: "s3:DeleteObject", bucket: bucket, key: key, version: vid}
	if vid != "" {
		a.action = versionAction(a.action)
	}
	if err := s.authorize(r, a); err != nil {
		return err
	}
	if bypass {
		a.action = "s3:BypassGovernanceRetention"
		return s.authorize(r, a)
	}
	return nil
}
