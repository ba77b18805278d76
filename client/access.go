package client

import (
	"context"
	"fmt"

	"github.com/granary-store/granary/internal/proto"
)

// AccessPolicy is a named IAM-style policy document that users attach.
type AccessPolicy = proto.AccessPolicy

// Identity is what a key's signature is checked and its requests
// authorized with: the key with its secret, its user (with canonical id),
// and the documents of the user's attached policies in name order.
type Identity = proto.Identity

// ACL is an S3 access control list; Grant and Grantee make up its grants.
type (
	ACL     = proto.ACL
	Grant   = proto.Grant
	Grantee = proto.Grantee
)

// PublicAccessBlock is a bucket's public access block configuration.
type PublicAccessBlock = proto.PublicAccessBlock

// CanonicalID is the S3 canonical user id of a user name.
func CanonicalID(user string) string { return proto.CanonicalID(user) }

// Access key states, grantee types, group URIs, permissions and object
// ownership settings, as S3 spells them.
const (
	KeyActive   = proto.KeyActive
	KeyInactive = proto.KeyInactive

	GranteeCanonicalUser    = proto.GranteeCanonicalUser
	GranteeGroup            = proto.GranteeGroup
	GroupAllUsers           = proto.GroupAllUsers
	GroupAuthenticatedUsers = proto.GroupAuthenticatedUsers

	PermFullControl = proto.PermFullControl
	PermRead        = proto.PermRead
	PermWrite       = proto.PermWrite
	PermReadACP     = proto.PermReadACP
	PermWriteACP    = proto.PermWriteACP

	OwnershipBucketOwnerEnforced  = proto.OwnershipBucketOwnerEnforced
	OwnershipBucketOwnerPreferred = proto.OwnershipBucketOwnerPreferred
	OwnershipObjectWriter         = proto.OwnershipObjectWriter
)

// MaxPolicyDocument bounds a policy document (an access policy's or a
// bucket policy) in bytes.
const MaxPolicyDocument = proto.MaxPolicyDocument

// User returns a user with its canonical id and attached policies
// (ErrNotFound when there is no such user).
func (a *Admin) User(ctx context.Context, name string) (User, error) {
	u, err := a.master.User(ctx, name)
	return u, classify(err)
}

// DeleteUser deletes a user and all its access keys in one change. The
// root user cannot be deleted (ErrBadRequest), nor a user that owns a
// bucket (ErrConflict, naming the bucket); a missing user is ErrNotFound.
func (a *Admin) DeleteUser(ctx context.Context, name string) error {
	return classify(a.master.DeleteUser(ctx, name))
}

// SetKeyStatus activates or deactivates an access key (ErrNotFound when
// there is no such key). An inactive key stays listed but signs nothing.
func (a *Admin) SetKeyStatus(ctx context.Context, accessKey string, active bool) error {
	status := proto.KeyActive
	if !active {
		status = proto.KeyInactive
	}
	return classify(a.master.SetKeyStatus(ctx, accessKey, status))
}

// PutAccessPolicy creates or replaces the access policy name. The
// document must be a JSON object of at most MaxPolicyDocument bytes that
// the policy grammar accepts, else ErrBadRequest with the reason.
func (a *Admin) PutAccessPolicy(ctx context.Context, name, document string) error {
	return classify(a.master.PutAccessPolicy(ctx, proto.AccessPolicyRequest{Name: name, Document: document}))
}

// AccessPolicy returns an access policy (ErrNotFound when there is none).
func (a *Admin) AccessPolicy(ctx context.Context, name string) (AccessPolicy, error) {
	p, err := a.master.AccessPolicy(ctx, name)
	return p, classify(err)
}

// AccessPolicies lists the access policies in name order.
func (a *Admin) AccessPolicies(ctx context.Context) ([]AccessPolicy, error) {
	ps, err := a.master.AccessPolicies(ctx)
	return ps, classify(err)
}

// DeleteAccessPolicy deletes an access policy; one attached to a user is
// ErrConflict (naming the user), a missing one ErrNotFound.
func (a *Admin) DeleteAccessPolicy(ctx context.Context, name string) error {
	return classify(a.master.DeleteAccessPolicy(ctx, name))
}

// AttachAccessPolicy attaches a policy to a user; attaching it again does
// nothing. A missing user or policy is ErrNotFound.
func (a *Admin) AttachAccessPolicy(ctx context.Context, user, policy string) error {
	return classify(a.master.Attach(ctx, proto.AttachRequest{User: user, Policy: policy}))
}

// DetachAccessPolicy detaches a policy from a user; detaching one that is
// not attached does nothing. A missing user or policy is ErrNotFound.
func (a *Admin) DetachAccessPolicy(ctx context.Context, user, policy string) error {
	return classify(a.master.Attach(ctx, proto.AttachRequest{User: user, Policy: policy, Detach: true}))
}

// Identity returns what the S3 gateway needs for an access key, in one
// consistent read: the key with its secret and status, its user, and the
// user's policy documents. An unknown key is ErrNotFound.
func (a *Admin) Identity(ctx context.Context, accessKey string) (Identity, error) {
	id, err := a.master.Identity(ctx, accessKey)
	return id, classify(err)
}

// BucketSpec describes a bucket to create: its name, its owner (a user
// name; "" for none), object lock (which turns versioning on for good),
// its object ownership setting and ACL.
type BucketSpec struct {
	Name       string
	Owner      string
	ObjectLock bool
	Ownership  string
	ACL        *ACL
	// DataPolicy is how the bucket's chunks are stored: "rep-N" or
	// "rs-K-M" (K data and M parity shards on K+M servers); "" is the
	// cluster's replication. It cannot change after creation.
	DataPolicy string
}

// CreateBucketWith creates a bucket as spec describes; an existing name is
// ErrBucketExists (whoever owns it), invalid settings ErrBadRequest.
func (c *Client) CreateBucketWith(ctx context.Context, spec BucketSpec) error {
	return classify(c.master.CreateBucketWith(ctx, spec.record()))
}

// CreateBucketWith creates a bucket as spec describes (see
// Client.CreateBucketWith).
func (a *Admin) CreateBucketWith(ctx context.Context, spec BucketSpec) error {
	return classify(a.master.CreateBucketWith(ctx, spec.record()))
}

func (spec BucketSpec) record() proto.Bucket {
	return proto.Bucket{Name: spec.Name, Owner: spec.Owner, ObjectLock: spec.ObjectLock, Ownership: spec.Ownership, ACL: spec.ACL, DataPolicy: spec.DataPolicy}
}

// SetBucketPolicy replaces a bucket's policy document; "" deletes it. The
// document is checked as PutAccessPolicy's is.
func (c *Client) SetBucketPolicy(ctx context.Context, bucket, doc string) error {
	return classify(c.master.SetBucketConfig(ctx, proto.BucketConfigRequest{Bucket: bucket, Policy: &doc}))
}

// SetBucketACL replaces a bucket's ACL.
func (c *Client) SetBucketACL(ctx context.Context, bucket string, acl ACL) error {
	return classify(c.master.SetBucketConfig(ctx, proto.BucketConfigRequest{Bucket: bucket, ACL: &acl}))
}

// SetBucketOwnership sets a bucket's object ownership (one of the
// Ownership* constants); "" deletes the setting.
func (c *Client) SetBucketOwnership(ctx context.Context, bucket, ownership string) error {
	return classify(c.master.SetBucketConfig(ctx, proto.BucketConfigRequest{Bucket: bucket, Ownership: &ownership}))
}

// SetPublicAccessBlock replaces a bucket's public access block; nil
// deletes it.
func (c *Client) SetPublicAccessBlock(ctx context.Context, bucket string, pab *PublicAccessBlock) error {
	req := proto.BucketConfigRequest{Bucket: bucket, PublicAccessBlock: pab, ClearPublicAccessBlock: pab == nil}
	return classify(c.master.SetBucketConfig(ctx, req))
}

// SetObjectACL replaces the ACL of an object's newest version (versionID
// "") or of the version versionID, without making a new version. A
// missing object is ErrNoSuchKey, a missing version ErrNotFound.
func (c *Client) SetObjectACL(ctx context.Context, bucket, key, versionID string, acl ACL) error {
	if err := validBucketKey(bucket, key); err != nil {
		return err
	}
	if err := c.master.SetObjectACL(ctx, proto.ObjectACLRequest{Bucket: bucket, Key: key, VersionID: versionID, ACL: acl}); err != nil {
		return fmt.Errorf("set acl of %s/%s: %w", bucket, key, classify(err))
	}
	return nil
}
