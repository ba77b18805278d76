// Package s3acl is S3's access control lists and object ownership: canned
// ACLs and x-amz-grant-* headers, the AccessControlPolicy document (read,
// checked and written), the public access block's rules on ACLs, who owns
// a bucket or an object under the bucket's ownership setting, and the
// evaluation of a grant (which permission an action needs, whether an ACL
// gives it to a caller). It knows nothing of the gateway's server;
// refusals are *s3err.Error values.
package s3acl

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/s3xml"
	"github.com/granary-store/granary/internal/proto"
)

const xsiNS = "http://www.w3.org/2001/XMLSchema-instance"

// granteeXML is an ACL grantee as S3 writes it.
type granteeXML struct {
	XMLNS       string `xml:"xmlns:xsi,attr,omitempty"`
	Type        string `xml:"xsi:type,attr"`
	ID          string `xml:"ID,omitempty"`
	DisplayName string `xml:"DisplayName,omitempty"`
	URI         string `xml:"URI,omitempty"`
	Email       string `xml:"EmailAddress,omitempty"`
}

type grantXML struct {
	Grantee    granteeXML `xml:"Grantee"`
	Permission string     `xml:"Permission"`
}

type accessControlPolicy struct {
	XMLName xml.Name     `xml:"AccessControlPolicy"`
	NS      string       `xml:"xmlns,attr,omitempty"`
	Owner   *s3xml.Owner `xml:"Owner"`
	Grants  []grantXML   `xml:"AccessControlList>Grant"`
}

// granteeIn is a grantee as read: the xsi:type attribute in any
// namespace spelling.
type granteeIn struct {
	Type  string `xml:"type,attr"`
	ID    string `xml:"ID"`
	URI   string `xml:"URI"`
	Email string `xml:"EmailAddress"`
}

type accessControlPolicyIn struct {
	XMLName xml.Name `xml:"AccessControlPolicy"`
	Owner   *struct {
		ID string `xml:"ID"`
	} `xml:"Owner"`
	Grants []struct {
		Grantee    granteeIn `xml:"Grantee"`
		Permission string    `xml:"Permission"`
	} `xml:"AccessControlList>Grant"`
}

// Canned expands a canned ACL for an owner (and, for the object ACLs
// that name it, the bucket's owner).
func Canned(canned, owner, bucketOwner string, onBucket bool) (*client.ACL, error) {
	acl := &client.ACL{Owner: owner, Grants: []client.Grant{userGrant(owner, proto.PermFullControl)}}
	group := func(uri, perm string) {
		acl.Grants = append(acl.Grants, client.Grant{Grantee: client.Grantee{Type: proto.GranteeGroup, URI: uri}, Permission: perm})
	}
	switch canned {
	case "private":
	case "public-read":
		group(proto.GroupAllUsers, proto.PermRead)
	case "public-read-write":
		group(proto.GroupAllUsers, proto.PermRead)
		group(proto.GroupAllUsers, proto.PermWrite)
	case "authenticated-read":
		group(proto.GroupAuthenticatedUsers, proto.PermRead)
	case "bucket-owner-read", "bucket-owner-full-control":
		if onBucket {
			return nil, s3err.New(s3err.InvalidArgument, "the canned ACL %s applies to objects only", canned)
		}
		perm := proto.PermRead
		if canned == "bucket-owner-full-control" {
			perm = proto.PermFullControl
		}
		if bucketOwner != owner {
			acl.Grants = append(acl.Grants, userGrant(bucketOwner, perm))
		}
	case "log-delivery-write":
		if !onBucket {
			return nil, s3err.New(s3err.InvalidArgument, "the canned ACL %s applies to buckets only", canned)
		}
		group(proto.GroupLogDelivery, proto.PermWrite)
		group(proto.GroupLogDelivery, proto.PermReadACP)
	case "aws-exec-read":
		// A grant to Amazon EC2's own account, which no Granary principal
		// is: refused rather than stored as a grant to nobody.
		return nil, s3err.New(s3err.NotImplemented, "the canned ACL %s is not implemented", canned)
	default:
		return nil, s3err.New(s3err.InvalidArgument, "the canned ACL %q is not valid", canned)
	}
	return acl, nil
}

func userGrant(user, perm string) client.Grant {
	return client.Grant{Grantee: client.Grantee{Type: proto.GranteeCanonicalUser, ID: proto.CanonicalID(user), User: user}, Permission: perm}
}

// grantHeaders are the x-amz-grant-* headers and the permission each gives.
var grantHeaders = []struct{ header, perm string }{
	{"X-Amz-Grant-Full-Control", proto.PermFullControl},
	{"X-Amz-Grant-Read", proto.PermRead},
	{"X-Amz-Grant-Write", proto.PermWrite},
	{"X-Amz-Grant-Read-Acp", proto.PermReadACP},
	{"X-Amz-Grant-Write-Acp", proto.PermWriteACP},
}

// FromHeaders reads the ACL a request asks for (x-amz-acl or x-amz-grant-*
// headers): nil when it names none.
func FromHeaders(h http.Header, owner, bucketOwner string, onBucket bool) (*client.ACL, error) {
	canned := h.Get("X-Amz-Acl")
	var explicit bool
	for _, g := range grantHeaders {
		explicit = explicit || h.Get(g.header) != ""
	}
	switch {
	case canned != "" && explicit:
		return nil, s3err.New(s3err.InvalidRequest, "specifying both canned ACLs and header grants is not allowed")
	case canned != "":
		return Canned(canned, owner, bucketOwner, onBucket)
	case !explicit:
		return nil, nil
	}
	acl := &client.ACL{Owner: owner}
	for _, g := range grantHeaders {
		if v := h.Get(g.header); v != "" {
			grantees, err := parseGrantees(v)
			if err != nil {
				return nil, err
			}
			for _, e := range grantees {
				acl.Grants = append(acl.Grants, client.Grant{Grantee: e, Permission: g.perm})
			}
		}
	}
	return acl, checkACL(*acl)
}

// parseGrantees reads a grant header's value: id="…", uri="…" entries
// separated by commas (emailAddress grantees cannot be resolved here).
func parseGrantees(v string) ([]client.Grantee, error) {
	var out []client.Grantee
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		val = strings.Trim(strings.TrimSpace(val), `"`)
		if !ok || val == "" {
			return nil, s3err.New(s3err.InvalidArgument, "the grant header value %q is not valid", part)
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "id":
			out = append(out, client.Grantee{Type: proto.GranteeCanonicalUser, ID: val})
		case "uri":
			out = append(out, client.Grantee{Type: proto.GranteeGroup, URI: val})
		case "emailaddress":
			return nil, s3err.New(s3err.UnresolvableGrantByEmailAddress, "the email address you provided does not match any account on record")
		default:
			return nil, s3err.New(s3err.InvalidArgument, "the grantee type %q is not valid", k)
		}
	}
	return out, nil
}

// checkACL validates an ACL as the cluster would, with S3's error.
func checkACL(a client.ACL) error {
	if err := proto.ValidACL(a); err != nil {
		return s3err.New(s3err.InvalidArgument, "%v", err)
	}
	return nil
}

// IsPublic reports whether an ACL grants anything to AllUsers or
// AuthenticatedUsers.
func IsPublic(a *client.ACL) bool {
	if a == nil {
		return false
	}
	for _, g := range a.Grants {
		if g.Grantee.Type == proto.GranteeGroup {
			return true
		}
	}
	return false
}

// Write answers an ACL as an AccessControlPolicy document.
func Write(w http.ResponseWriter, a *client.ACL, owner string) {
	if a == nil {
		a, _ = Canned("private", owner, owner, true)
	}
	o := OwnerOf(a.Owner)
	res := accessControlPolicy{NS: s3xml.NS, Owner: &o, Grants: []grantXML{}}
	for _, g := range a.Grants {
		e := granteeXML{XMLNS: xsiNS, Type: g.Grantee.Type, ID: g.Grantee.ID, URI: g.Grantee.URI}
		if g.Grantee.User != "" {
			e.DisplayName = g.Grantee.User
		}
		res.Grants = append(res.Grants, grantXML{Grantee: e, Permission: g.Permission})
	}
	s3xml.Write(w, http.StatusOK, res)
}

// Read reads a PutBucketAcl/PutObjectAcl request: an
// AccessControlPolicy body, or the canned or grant headers.
func Read(r *http.Request, owner, bucketOwner string, onBucket bool) (*client.ACL, error) {
	fromHeaders, err := FromHeaders(r.Header, owner, bucketOwner, onBucket)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
	if err != nil {
		return nil, err
	}
	switch {
	case len(body) > 64<<10:
		return nil, s3err.New(s3err.MalformedACLError, "the ACL you provided is too large")
	case len(body) > 0 && fromHeaders != nil:
		return nil, s3err.New(s3err.UnexpectedContent, "this request does not support content together with ACL headers")
	case len(body) == 0 && fromHeaders == nil:
		return nil, s3err.New(s3err.MissingSecurityHeader, "your request was missing a required header: x-amz-acl")
	case fromHeaders != nil:
		return fromHeaders, nil
	}
	var in accessControlPolicyIn
	if err := xml.Unmarshal(body, &in); err != nil {
		return nil, s3err.New(s3err.MalformedACLError, "the XML you provided was not well-formed or did not validate against our published schema")
	}
	if in.Owner == nil || in.Owner.ID != proto.CanonicalID(owner) {
		return nil, s3err.New(s3err.AccessDenied, "the owner in the ACL must be the resource's owner")
	}
	acl := &client.ACL{Owner: owner}
	for _, g := range in.Grants {
		e := client.Grantee{Type: g.Grantee.Type, ID: g.Grantee.ID, URI: g.Grantee.URI}
		if e.Type == "AmazonCustomerByEmail" || g.Grantee.Email != "" {
			return nil, s3err.New(s3err.UnresolvableGrantByEmailAddress, "the email address you provided does not match any account on record")
		}
		acl.Grants = append(acl.Grants, client.Grant{Grantee: e, Permission: g.Permission})
	}
	if err := proto.ValidACL(*acl); err != nil {
		return nil, s3err.New(s3err.MalformedACLError, "%v", err)
	}
	return acl, nil
}

// ErrDisabled is RefuseDisabled's answer.
var ErrDisabled = s3err.New(s3err.AccessControlListNotSupported, "the bucket does not allow ACLs")

// RefuseDisabled answers AccessControlListNotSupported when b has ACLs
// off and acl grants more than the bucket owner's full control.
func RefuseDisabled(b client.Bucket, acl *client.ACL) error {
	if Enabled(b) || acl == nil {
		return nil
	}
	for _, g := range acl.Grants {
		if g.Grantee.Type != proto.GranteeCanonicalUser || g.Grantee.ID != proto.CanonicalID(BucketOwner(b)) || g.Permission != proto.PermFullControl {
			return ErrDisabled
		}
	}
	return nil
}

// RefusePublic answers AccessDenied when the bucket's public access
// block refuses public ACLs and acl is one.
func RefusePublic(b client.Bucket, acl *client.ACL) error {
	if b.PublicAccessBlock != nil && b.PublicAccessBlock.BlockPublicAcls && IsPublic(acl) {
		return s3err.New(s3err.AccessDenied, "Access Denied: the bucket's public access block refuses public ACLs")
	}
	return nil
}

// ObjectOwner is the owner of an object: its writer where the bucket lets
// writers own objects, else the bucket's owner.
func ObjectOwner(b client.Bucket, o client.ObjectInfo) string {
	if Enabled(b) && o.Owner != "" {
		return o.Owner
	}
	return BucketOwner(b)
}

// OwnerOf is the XML Owner of user (the root user for "").
func OwnerOf(user string) s3xml.Owner {
	if user == "" {
		user = RootUser
	}
	return s3xml.Owner{ID: proto.CanonicalID(user), DisplayName: user}
}

// RootUser owns the buckets created before buckets had owners.
const RootUser = "root"

// BucketOwner is the owner of b (root for buckets older than ownership).
func BucketOwner(b client.Bucket) string {
	if b.Owner == "" {
		return RootUser
	}
	return b.Owner
}

// Enabled reports whether b's ACLs take part in authorization.
func Enabled(b client.Bucket) bool { return b.Ownership != OwnershipEnforced }

// The object ownership settings of a bucket: BucketOwnerEnforced turns
// ACLs off (the bucket's owner owns every object), the other two keep
// them, the writer owning what it writes unless, under
// BucketOwnerPreferred, it grants the bucket owner full control.
const (
	OwnershipEnforced  = "BucketOwnerEnforced"
	OwnershipPreferred = "BucketOwnerPreferred"
	OwnershipWriter    = "ObjectWriter"
)

// ACL permissions.
const (
	aclRead        = "READ"
	aclWrite       = "WRITE"
	aclReadACP     = "READ_ACP"
	aclWriteACP    = "WRITE_ACP"
	aclFullControl = "FULL_CONTROL"
)

// Permission is the ACL permission that grants action, and whether it
// is read from the object's ACL ("" when no ACL grant can allow it).
func Permission(action string) (perm string, onObject bool) {
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

// IgnorePublic reports whether b's public access block ignores public
// ACL grants.
func IgnorePublic(b client.Bucket) bool {
	return b.PublicAccessBlock != nil && b.PublicAccessBlock.IgnorePublicAcls
}

// Grants reports whether acl gives perm to user (or to an anonymous
// caller) (FULL_CONTROL gives all).
func Grants(acl *client.ACL, user string, anonymous bool, perm string, ignorePublic bool) bool {
	if acl == nil {
		return false
	}
	id := ""
	if !anonymous {
		id = proto.CanonicalID(user)
		if user == acl.Owner {
			return true
		}
	}
	for _, g := range acl.Grants {
		if g.Permission != perm && g.Permission != aclFullControl {
			continue
		}
		switch {
		case g.Grantee.Type == "CanonicalUser" && id != "" && (g.Grantee.ID == id || g.Grantee.User == user):
			return true
		case g.Grantee.Type == "Group" && g.Grantee.URI == proto.GroupAllUsers && !ignorePublic:
			return true
		case g.Grantee.Type == "Group" && g.Grantee.URI == proto.GroupAuthenticatedUsers && !anonymous && !ignorePublic:
			return true
		}
	}
	return false
}
