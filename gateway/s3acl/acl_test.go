package s3acl

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/internal/proto"
)

func code(err error) string {
	var se *s3err.Error
	if errors.As(err, &se) {
		return se.Code
	}
	if err != nil {
		return "other: " + err.Error()
	}
	return ""
}

func TestCanned(t *testing.T) {
	for _, c := range []struct {
		canned   string
		onBucket bool
		grants   int
		err      string
	}{
		{"private", true, 1, ""},
		{"public-read", true, 2, ""},
		{"public-read-write", false, 3, ""},
		{"authenticated-read", true, 2, ""},
		{"bucket-owner-full-control", false, 2, ""},
		{"bucket-owner-full-control", true, 0, "InvalidArgument"},
		{"log-delivery-write", true, 3, ""},
		{"log-delivery-write", false, 0, "InvalidArgument"},
		{"aws-exec-read", false, 0, "NotImplemented"},
		{"nope", false, 0, "InvalidArgument"},
	} {
		acl, err := Canned(c.canned, "alice", "bob", c.onBucket)
		if code(err) != c.err || err == nil && len(acl.Grants) != c.grants {
			t.Errorf("%s (bucket %v): %+v %v, want %d grants, error %q", c.canned, c.onBucket, acl, err, c.grants, c.err)
		}
	}
}

func TestFromHeaders(t *testing.T) {
	h := http.Header{}
	if acl, err := FromHeaders(h, "alice", "alice", true); acl != nil || err != nil {
		t.Fatalf("no headers: %v %v", acl, err)
	}
	h.Set("X-Amz-Grant-Read", `uri="`+proto.GroupAllUsers+`", id="`+proto.CanonicalID("bob")+`"`)
	acl, err := FromHeaders(h, "alice", "alice", true)
	if err != nil || len(acl.Grants) != 2 || !IsPublic(acl) {
		t.Fatalf("grant headers: %+v %v", acl, err)
	}
	h.Set("X-Amz-Acl", "private")
	if _, err := FromHeaders(h, "alice", "alice", true); code(err) != "InvalidRequest" {
		t.Fatalf("canned and grants together: %v", err)
	}
	h = http.Header{"X-Amz-Grant-Write": {`emailAddress="a@b"`}}
	if _, err := FromHeaders(h, "alice", "alice", true); code(err) != "UnresolvableGrantByEmailAddress" {
		t.Fatalf("email grantee: %v", err)
	}
}

func TestReadDocument(t *testing.T) {
	doc := func(owner string) string {
		return `<AccessControlPolicy><Owner><ID>` + proto.CanonicalID(owner) + `</ID></Owner><AccessControlList>` +
			`<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Group"><URI>` + proto.GroupAllUsers +
			`</URI></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>`
	}
	read := func(body string, h http.Header) (*client.ACL, error) {
		r := httptest.NewRequest("PUT", "/b?acl", strings.NewReader(body))
		for k, v := range h {
			r.Header[k] = v
		}
		return Read(r, "alice", "alice", true)
	}
	acl, err := read(doc("alice"), nil)
	if err != nil || len(acl.Grants) != 1 || acl.Grants[0].Grantee.URI != proto.GroupAllUsers || acl.Owner != "alice" {
		t.Fatalf("document: %+v %v", acl, err)
	}
	for _, c := range []struct {
		name string
		body string
		h    http.Header
		err  string
	}{
		{"other owner", doc("bob"), nil, "AccessDenied"},
		{"not xml", "<Access", nil, "MalformedACLError"},
		{"nothing", "", nil, "MissingSecurityHeader"},
		{"body and header", doc("alice"), http.Header{"X-Amz-Acl": {"private"}}, "UnexpectedContent"},
		{"too large", strings.Repeat(" ", 64<<10+1), nil, "MalformedACLError"},
	} {
		if _, err := read(c.body, c.h); code(err) != c.err {
			t.Errorf("%s: %v, want %s", c.name, err, c.err)
		}
	}
}

func TestGrants(t *testing.T) {
	acl := &client.ACL{Owner: "alice", Grants: []client.Grant{
		{Grantee: client.Grantee{Type: proto.GranteeCanonicalUser, ID: proto.CanonicalID("bob")}, Permission: proto.PermRead},
		{Grantee: client.Grantee{Type: proto.GranteeGroup, URI: proto.GroupAuthenticatedUsers}, Permission: proto.PermWrite},
		{Grantee: client.Grantee{Type: proto.GranteeGroup, URI: proto.GroupAllUsers}, Permission: proto.PermReadACP},
	}}
	for _, c := range []struct {
		user      string
		anonymous bool
		perm      string
		ignore    bool
		want      bool
	}{
		{"alice", false, proto.PermWriteACP, false, true}, // the owner
		{"bob", false, proto.PermRead, false, true},
		{"bob", false, proto.PermWrite, false, true}, // authenticated users
		{"bob", false, proto.PermWrite, true, false},
		{"carol", false, proto.PermRead, false, false},
		{"", true, proto.PermWrite, false, false}, // not authenticated
		{"", true, proto.PermReadACP, false, true},
		{"", true, proto.PermReadACP, true, false},
	} {
		if got := Grants(acl, c.user, c.anonymous, c.perm, c.ignore); got != c.want {
			t.Errorf("%q (anonymous %v) %s ignore %v: %v, want %v", c.user, c.anonymous, c.perm, c.ignore, got, c.want)
		}
	}
	if perm, onObject := Permission("s3:GetObject"); perm != proto.PermRead || !onObject {
		t.Errorf("s3:GetObject needs %s (object %v)", perm, onObject)
	}
	if perm, _ := Permission("s3:PutBucketPolicy"); perm != "" {
		t.Errorf("s3:PutBucketPolicy granted by ACL %s", perm)
	}
}
