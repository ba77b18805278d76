package gateway

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/internal/proto"
)

// ACLs: canned ACLs and x-amz-grant-* headers on CreateBucket, PutObject,
// CopyObject and CreateMultipartUpload; Get/PutBucketAcl and
// Get/PutObjectAcl; the object ownership setting that turns ACLs off
// (BucketOwnerEnforced, the default for new buckets) or on.

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
	XMLName xml.Name   `xml:"AccessControlPolicy"`
	NS      string     `xml:"xmlns,attr,omitempty"`
	Owner   *ownerXML  `xml:"Owner"`
	Grants  []grantXML `xml:"AccessControlList>Grant"`
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

// cannedACL expands a canned ACL for an owner (and, for the object ACLs
// that name it, the bucket's owner).
func cannedACL(canned, owner, bucketOwner string, onBucket bool) (*client.ACL, error) {
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
			return nil, errorf(ErrInvalidArgument, "the canned ACL %s applies to objects only", canned)
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
			return nil, errorf(ErrInvalidArgument, "the canned ACL %s applies to buckets only", canned)
		}
		group(proto.GroupLogDelivery, proto.PermWrite)
		group(proto.GroupLogDelivery, proto.PermReadACP)
	case "aws-exec-read":
		// A grant to Amazon EC2's own account, which no Granary principal
		// is: refused rather than stored as a grant to nobody.
		return nil, errorf(ErrNotImplemented, "the canned ACL %s is not implemented", canned)
	default:
		return nil, errorf(ErrInvalidArgument, "the canned ACL %q is not valid", canned)
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

// requestACL reads the ACL a request asks for (x-amz-acl or x-amz-grant-*
// headers): nil when it names none.
func requestACL(h http.Header, owner, bucketOwner string, onBucket bool) (*client.ACL, error) {
	canned := h.Get("X-Amz-Acl")
	var explicit bool
	for _, g := range grantHeaders {
		explicit = explicit || h.Get(g.header) != ""
	}
	switch {
	case canned != "" && explicit:
		return nil, errorf(ErrInvalidRequest, "specifying both canned ACLs and header grants is not allowed")
	case canned != "":
		return cannedACL(canned, owner, bucketOwner, onBucket)
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
			return nil, errorf(ErrInvalidArgument, "the grant header value %q is not valid", part)
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "id":
			out = append(out, client.Grantee{Type: proto.GranteeCanonicalUser, ID: val})
		case "uri":
			out = append(out, client.Grantee{Type: proto.GranteeGroup, URI: val})
		case "emailaddress":
			return nil, errorf(ErrUnresolvableGrantByEmailAddress, "the email address you provided does not match any account on record")
		default:
			return nil, errorf(ErrInvalidArgument, "the grantee type %q is not valid", k)
		}
	}
	return out, nil
}

// checkACL validates an ACL as the cluster would, with S3's error.
func checkACL(a client.ACL) error {
	if err := proto.ValidACL(a); err != nil {
		return errorf(ErrInvalidArgument, "%v", err)
	}
	return nil
}

// isPublicACL reports whether an ACL grants anything to AllUsers or
// AuthenticatedUsers.
func isPublicACL(a *client.ACL) bool {
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

// writeACL answers an ACL as an AccessControlPolicy document.
func writeACL(w http.ResponseWriter, a *client.ACL, owner string) {
	if a == nil {
		a, _ = cannedACL("private", owner, owner, true)
	}
	o := ownerOf(a.Owner)
	res := accessControlPolicy{NS: s3NS, Owner: &o, Grants: []grantXML{}}
	for _, g := range a.Grants {
		e := granteeXML{XMLNS: xsiNS, Type: g.Grantee.Type, ID: g.Grantee.ID, URI: g.Grantee.URI}
		if g.Grantee.User != "" {
			e.DisplayName = g.Grantee.User
		}
		res.Grants = append(res.Grants, grantXML{Grantee: e, Permission: g.Permission})
	}
	writeXML(w, http.StatusOK, res)
}

// readACL reads a PutBucketAcl/PutObjectAcl request: an
// AccessControlPolicy body, or the canned or grant headers.
func readACL(r *http.Request, owner, bucketOwner string, onBucket bool) (*client.ACL, error) {
	fromHeaders, err := requestACL(r.Header, owner, bucketOwner, onBucket)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10+1))
	if err != nil {
		return nil, err
	}
	switch {
	case len(body) > 64<<10:
		return nil, errorf(ErrMalformedACLError, "the ACL you provided is too large")
	case len(body) > 0 && fromHeaders != nil:
		return nil, errorf(ErrUnexpectedContent, "this request does not support content together with ACL headers")
	case len(body) == 0 && fromHeaders == nil:
		return nil, errorf(ErrMissingSecurityHeader, "your request was missing a required header: x-amz-acl")
	case fromHeaders != nil:
		return fromHeaders, nil
	}
	var in accessControlPolicyIn
	if err := xml.Unmarshal(body, &in); err != nil {
		return nil, errorf(ErrMalformedACLError, "the XML you provided was not well-formed or did not validate against our published schema")
	}
	if in.Owner == nil || in.Owner.ID != proto.CanonicalID(owner) {
		return nil, errorf(ErrAccessDenied, "the owner in the ACL must be the resource's owner")
	}
	acl := &client.ACL{Owner: owner}
	for _, g := range in.Grants {
		e := client.Grantee{Type: g.Grantee.Type, ID: g.Grantee.ID, URI: g.Grantee.URI}
		if e.Type == "AmazonCustomerByEmail" || g.Grantee.Email != "" {
			return nil, errorf(ErrUnresolvableGrantByEmailAddress, "the email address you provided does not match any account on record")
		}
		acl.Grants = append(acl.Grants, client.Grant{Grantee: e, Permission: g.Permission})
	}
	if err := proto.ValidACL(*acl); err != nil {
		return nil, errorf(ErrMalformedACLError, "%v", err)
	}
	return acl, nil
}

// errACLsDisabled is refuseDisabledACL's answer.
var errACLsDisabled = errorf(ErrAccessControlListNotSupported, "the bucket does not allow ACLs")

// refuseDisabledACL answers AccessControlListNotSupported when b has ACLs
// off and acl grants more than the bucket owner's full control.
func refuseDisabledACL(b client.Bucket, acl *client.ACL) error {
	if aclsEnabled(b) || acl == nil {
		return nil
	}
	for _, g := range acl.Grants {
		if g.Grantee.Type != proto.GranteeCanonicalUser || g.Grantee.ID != proto.CanonicalID(bucketOwner(b)) || g.Permission != proto.PermFullControl {
			return errACLsDisabled
		}
	}
	return nil
}

// refusePublicACL answers AccessDenied when the bucket's public access
// block refuses public ACLs and acl is one.
func refusePublicACL(b client.Bucket, acl *client.ACL) error {
	if b.PublicAccessBlock != nil && b.PublicAccessBlock.BlockPublicAcls && isPublicACL(acl) {
		return errorf(ErrAccessDenied, "Access Denied: the bucket's public access block refuses public ACLs")
	}
	return nil
}

func (s *Server) getBucketACL(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	acl := b.ACL
	if !aclsEnabled(b) || acl == nil {
		acl, _ = cannedACL("private", bucketOwner(b), bucketOwner(b), true)
	}
	writeACL(w, acl, bucketOwner(b))
}

func (s *Server) putBucketACL(w http.ResponseWriter, r *http.Request) {
	b, ok := s.bucketRecord(w, r)
	if !ok {
		return
	}
	acl, err := readACL(r, bucketOwner(b), bucketOwner(b), true)
	if err == nil {
		err = refuseDisabledACL(b, acl)
	}
	if err == nil {
		err = refusePublicACL(b, acl)
	}
	if err == nil {
		err = s.client.SetBucketACL(r.Context(), b.Name, *acl)
	}
	s.forgetBucket(b.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// aclTarget reads an object ACL call's object, version, record and its
// bucket's record.
func (s *Server) aclTarget(r *http.Request) (bucket, key, vid string, info client.ObjectInfo, b client.Bucket, err error) {
	if bucket, key, err = objectName(r); err == nil {
		vid, err = versionParam(r)
	}
	if err == nil {
		info, err = s.objectInfo(r.Context(), bucket, key, vid)
	}
	if err == nil {
		b, err = s.bucketInfo(r.Context(), bucket)
	}
	return bucket, key, vid, info, b, versionError(err)
}

func (s *Server) getObjectACL(w http.ResponseWriter, r *http.Request) {
	_, _, _, info, b, err := s.aclTarget(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	owner := objectOwner(b, info)
	acl := info.ACL
	if !aclsEnabled(b) || acl == nil {
		acl, _ = cannedACL("private", owner, owner, false)
	}
	setVersionHeader(w, info)
	writeACL(w, acl, owner)
}

func (s *Server) putObjectACL(w http.ResponseWriter, r *http.Request) {
	bucket, key, vid, info, b, err := s.aclTarget(r)
	var acl *client.ACL
	if err == nil {
		acl, err = readACL(r, objectOwner(b, info), bucketOwner(b), false)
	}
	if err == nil {
		err = refuseDisabledACL(b, acl)
	}
	if err == nil {
		err = refusePublicACL(b, acl)
	}
	if err == nil {
		err = versionError(s.client.SetObjectACL(r.Context(), bucket, key, vid, *acl))
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	setVersionHeader(w, info)
	w.WriteHeader(http.StatusOK)
}

// objectOwner is the owner of an object: its writer where the bucket lets
// writers own objects, else the bucket's owner.
func objectOwner(b client.Bucket, o client.ObjectInfo) string {
	if aclsEnabled(b) && o.Owner != "" {
		return o.Owner
	}
	return bucketOwner(b)
}

// setVersionHeader names the version an answer is about, in a versioned
// bucket.
func setVersionHeader(w http.ResponseWriter, o client.ObjectInfo) {
	if o.VersionID != "" {
		w.Header().Set("x-amz-version-id", o.VersionID)
	}
}

// requestOwnership sets who owns an object a request writes, and the ACL
// it asks for, as the bucket's object ownership setting says.
func (s *Server) requestOwnership(r *http.Request, bucket string, oh *client.ObjectHeaders) error {
	b, err := s.bucketInfo(r.Context(), bucket)
	if err != nil {
		return err
	}
	writer := principalOf(r).user
	if writer == "" {
		writer = bucketOwner(b) // an anonymous write, where a grant allows one
	}
	owner := writer
	switch b.Ownership {
	case ownershipEnforced:
		owner = bucketOwner(b)
	case ownershipPreferred:
		if r.Header.Get("X-Amz-Acl") == "bucket-owner-full-control" {
			owner = bucketOwner(b)
		}
	}
	acl, err := requestACL(r.Header, owner, bucketOwner(b), false)
	if err == nil {
		err = refuseDisabledACL(b, acl)
	}
	if err == nil {
		err = refusePublicACL(b, acl)
	}
	if err != nil {
		return err
	}
	oh.Owner, oh.ACL = owner, nil
	if aclsEnabled(b) {
		oh.ACL = acl
	}
	return nil
}
