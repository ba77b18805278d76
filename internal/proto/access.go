package proto

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// CanonicalID is the S3 canonical user id of the user name: the lowercase
// hex SHA-256 of "granary:user:" and the name (64 characters). It is
// derived, never stored, and stable for a name.
func CanonicalID(user string) string {
	sum := sha256.Sum256([]byte("granary:user:" + user))
	return hex.EncodeToString(sum[:])
}

// ErrInvalidAccess means an access setting (a policy document, an ACL, an
// ownership setting) is malformed.
var ErrInvalidAccess = errors.New("invalid access setting")

// Access key states (AccessKey.Status). A key stored without one, as keys
// made before key states were, is active.
const (
	KeyActive   = "Active"
	KeyInactive = "Inactive"
)

// Active reports whether the key may sign requests.
func (k AccessKey) Active() bool { return k.Status != KeyInactive }

// RootUser is the user a cluster is set up with; it cannot be deleted.
const RootUser = "root"

// MaxPolicyDocument bounds an access policy or bucket policy document.
const MaxPolicyDocument = 20 << 10

// AccessPolicy is a named IAM-style policy document that users attach.
type AccessPolicy struct {
	Name     string    `json:"name"`
	Document string    `json:"document"`
	Updated  time.Time `json:"updated"`
}

// AccessPolicyRequest creates or replaces an access policy.
type AccessPolicyRequest struct {
	Name     string `json:"name"`
	Document string `json:"document"`
}

// AttachRequest attaches a policy to a user, or with Detach, detaches it.
type AttachRequest struct {
	User   string `json:"user"`
	Policy string `json:"policy"`
	Detach bool   `json:"detach,omitempty"`
}

// KeyStatusRequest sets an access key's status (KeyActive or KeyInactive).
type KeyStatusRequest struct {
	Status string `json:"status"`
}

// Identity is what the S3 gateway needs to authenticate and authorize a
// request signed with an access key: the key with its secret, its user,
// and the documents of the user's attached policies in name order.
type Identity struct {
	Key      AccessKey      `json:"key"`
	User     User           `json:"user"`
	Policies []AccessPolicy `json:"policies,omitempty"`
}

// Routes of the identity and access calls.
const (
	// RouteAccessPolicies: GET lists, POST an AccessPolicyRequest puts;
	// GET and DELETE RouteAccessPolicies+"/{name}".
	RouteAccessPolicies = APIPrefix + "/accesspolicies"
	// RouteAttach is POSTed an AttachRequest.
	RouteAttach = APIPrefix + "/users/attach"
	// RouteIdentity: GET RouteIdentity+"/{accessKey}" answers an Identity.
	RouteIdentity = APIPrefix + "/identity"
	// RouteObjectACL is POSTed an ObjectACLRequest.
	RouteObjectACL = APIPrefix + "/objects/acl"
)

// ValidPolicyDocument checks the form every policy document (access or
// bucket policy) must have: at most MaxPolicyDocument bytes of a JSON
// object. Its grammar is the policy package's to check.
func ValidPolicyDocument(doc string) error {
	if len(doc) > MaxPolicyDocument {
		return fmt.Errorf("policy document of %d bytes exceeds %d: %w", len(doc), MaxPolicyDocument, ErrInvalidAccess)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &obj); err != nil || obj == nil {
		return fmt.Errorf("policy document is not a JSON object: %w", ErrInvalidAccess)
	}
	return nil
}

// Bucket object ownership settings (Bucket.Ownership), as S3 spells them.
const (
	OwnershipBucketOwnerEnforced  = "BucketOwnerEnforced"
	OwnershipBucketOwnerPreferred = "BucketOwnerPreferred"
	OwnershipObjectWriter         = "ObjectWriter"
)

// ValidOwnership checks an ownership setting ("" is none).
func ValidOwnership(o string) error {
	switch o {
	case "", OwnershipBucketOwnerEnforced, OwnershipBucketOwnerPreferred, OwnershipObjectWriter:
		return nil
	}
	return fmt.Errorf("object ownership %q is not BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter: %w", truncate(o), ErrInvalidAccess)
}

// ACL is an S3 access control list: an owner (a user name) and grants.
type ACL struct {
	Owner  string  `json:"owner"`
	Grants []Grant `json:"grants,omitempty"`
}

// Grant gives a grantee one permission.
type Grant struct {
	Grantee    Grantee `json:"grantee"`
	Permission string  `json:"permission"`
}

// Grantee is who a grant is for: a user by canonical id (Type
// GranteeCanonicalUser; User is the name when known) or a group by URI
// (Type GranteeGroup).
type Grantee struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`
	User string `json:"user,omitempty"`
	URI  string `json:"uri,omitempty"`
}

// Grantee types, group URIs and permissions of an ACL, as S3 spells them.
const (
	GranteeCanonicalUser = "CanonicalUser"
	GranteeGroup         = "Group"

	GroupAllUsers           = "http://acs.amazonaws.com/groups/global/AllUsers"
	GroupAuthenticatedUsers = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
	// GroupLogDelivery is S3's log delivery group. Granary delivers no
	// server access logs into buckets, so a grant to it is stored and
	// shown but lets no request through.
	GroupLogDelivery = "http://acs.amazonaws.com/groups/s3/LogDelivery"

	PermFullControl = "FULL_CONTROL"
	PermRead        = "READ"
	PermWrite       = "WRITE"
	PermReadACP     = "READ_ACP"
	PermWriteACP    = "WRITE_ACP"
)

// MaxGrants bounds the grants of an ACL (S3's limit).
const MaxGrants = 100

// ValidACL checks an ACL: an owner that is a valid user name, at most
// MaxGrants grants, each with a known permission and a canonical user
// grantee (64 lowercase hex characters of id, an optional valid user name)
// or an AllUsers, AuthenticatedUsers or LogDelivery group.
func ValidACL(a ACL) error {
	if err := ValidID("acl owner", a.Owner); err != nil {
		return err
	}
	if len(a.Grants) > MaxGrants {
		return fmt.Errorf("acl of %d grants exceeds %d: %w", len(a.Grants), MaxGrants, ErrInvalidAccess)
	}
	for i, g := range a.Grants {
		if err := validGrant(g); err != nil {
			return fmt.Errorf("acl grant %d: %w", i+1, err)
		}
	}
	return nil
}

func validGrant(g Grant) error {
	if !slices.Contains([]string{PermFullControl, PermRead, PermWrite, PermReadACP, PermWriteACP}, g.Permission) {
		return fmt.Errorf("permission %q is not FULL_CONTROL, READ, WRITE, READ_ACP or WRITE_ACP: %w", truncate(g.Permission), ErrInvalidAccess)
	}
	e := g.Grantee
	switch e.Type {
	case GranteeCanonicalUser:
		if len(e.ID) != 64 || strings.Trim(e.ID, "0123456789abcdef") != "" || e.URI != "" {
			return fmt.Errorf("canonical user grantee needs an id of 64 lowercase hex characters and no uri: %w", ErrInvalidAccess)
		}
		if e.User != "" {
			return ValidID("grantee user", e.User)
		}
	case GranteeGroup:
		if e.URI != GroupAllUsers && e.URI != GroupAuthenticatedUsers && e.URI != GroupLogDelivery || e.ID != "" || e.User != "" {
			return fmt.Errorf("group grantee %q is not AllUsers, AuthenticatedUsers or LogDelivery: %w", truncate(e.URI), ErrInvalidAccess)
		}
	default:
		return fmt.Errorf("grantee type %q is not CanonicalUser or Group: %w", truncate(e.Type), ErrInvalidAccess)
	}
	return nil
}

// PublicAccessBlock is a bucket's public access block configuration.
type PublicAccessBlock struct {
	BlockPublicAcls       bool `json:"blockPublicAcls"`
	IgnorePublicAcls      bool `json:"ignorePublicAcls"`
	BlockPublicPolicy     bool `json:"blockPublicPolicy"`
	RestrictPublicBuckets bool `json:"restrictPublicBuckets"`
}

// ObjectACLRequest replaces the ACL of an object's newest version, or of
// the version VersionID.
type ObjectACLRequest struct {
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	VersionID string `json:"versionId,omitempty"`
	ACL       ACL    `json:"acl"`
}
