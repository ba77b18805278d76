package client_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
)

const (
	allowGet = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	allowPut = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}`
	// publicRead is a bucket policy.
	publicRead = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::owned/*"}]}`
)

// TestAccessPoliciesAndIdentity: access policies through Admin against a
// real master: put, replace, attach and detach, the conflicts, Identity,
// key status, and DeleteUser with its refusals.
func TestAccessPoliciesAndIdentity(t *testing.T) {
	_, cl := startData(t, 1)
	ctx := ctxT(t, 60*time.Second)
	adm := cl.Admin()
	for _, u := range []string{"root", "alice", "bob"} {
		if _, err := adm.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	k, err := adm.CreateKey(ctx, "alice", "", "")
	if err != nil || k.Status != client.KeyActive {
		t.Fatalf("key %+v, %v", k, err)
	}
	for name, doc := range map[string]string{"not json": "{", "array": "[1]", "too large": `{"a":"` + strings.Repeat("x", client.MaxPolicyDocument) + `"}`,
		"no statement": "{}", "bad statement": `{"Version":"2012-10-17","Statement":"x"}`} {
		if err := adm.PutAccessPolicy(ctx, "read", doc); !errors.Is(err, client.ErrBadRequest) {
			t.Errorf("%s document: %v", name, err)
		}
	}
	// The grammar's reason reaches the caller.
	if err := adm.PutAccessPolicy(ctx, "read", `{"Version":"2012-10-17","Statement":"x"}`); err == nil || !strings.Contains(err.Error(), "Statement 1") {
		t.Errorf("bad statement: %v", err)
	}
	if err := adm.PutAccessPolicy(ctx, "bad name!", allowGet); !errors.Is(err, client.ErrBadRequest) {
		t.Errorf("bad policy name: %v", err)
	}
	if ps, err := adm.AccessPolicies(ctx); err != nil || len(ps) != 0 {
		t.Fatalf("policies after refusals: %+v, %v", ps, err)
	}
	if err := adm.PutAccessPolicy(ctx, "read", allowPut); err != nil {
		t.Fatal(err)
	}
	if err := adm.PutAccessPolicy(ctx, "read", allowGet); err != nil {
		t.Fatal(err)
	}
	if err := adm.PutAccessPolicy(ctx, "audit", allowPut); err != nil {
		t.Fatal(err)
	}
	if p, err := adm.AccessPolicy(ctx, "read"); err != nil || p.Document != allowGet || p.Updated.IsZero() {
		t.Fatalf("policy %+v, %v", p, err)
	}
	if _, err := adm.AccessPolicy(ctx, "nope"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("missing policy: %v", err)
	}
	if ps, err := adm.AccessPolicies(ctx); err != nil || len(ps) != 2 || ps[0].Name != "audit" || ps[1].Name != "read" {
		t.Fatalf("policies %+v, %v", ps, err)
	}
	for _, p := range []string{"read", "audit", "read"} {
		if err := adm.AttachAccessPolicy(ctx, "alice", p); err != nil {
			t.Fatal(err)
		}
	}
	if err := adm.AttachAccessPolicy(ctx, "nobody", "read"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("attach to a missing user: %v", err)
	}
	if err := adm.AttachAccessPolicy(ctx, "alice", "nope"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("attach a missing policy: %v", err)
	}
	u, err := adm.User(ctx, "alice")
	if err != nil || !slices.Equal(u.Policies, []string{"audit", "read"}) || u.ID != client.CanonicalID("alice") {
		t.Fatalf("user %+v, %v", u, err)
	}
	if us, err := adm.Users(ctx); err != nil || us[0].ID != client.CanonicalID(us[0].Name) {
		t.Fatalf("users %+v, %v", us, err)
	}
	id, err := adm.Identity(ctx, k.AccessKey)
	if err != nil || id.Key.SecretKey != k.SecretKey || id.User.Name != "alice" || id.User.ID != u.ID ||
		len(id.Policies) != 2 || id.Policies[1].Document != allowGet || !id.Key.Active() {
		t.Fatalf("identity %+v, %v", id, err)
	}
	if _, err := adm.Identity(ctx, "NOSUCHKEY"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("identity of a missing key: %v", err)
	}
	if err := adm.DeleteAccessPolicy(ctx, "read"); !errors.Is(err, client.ErrConflict) || !strings.Contains(err.Error(), "alice") {
		t.Fatalf("delete an attached policy: %v", err)
	}
	if err := adm.DetachAccessPolicy(ctx, "alice", "read"); err != nil {
		t.Fatal(err)
	}
	if err := adm.DeleteAccessPolicy(ctx, "read"); err != nil {
		t.Fatal(err)
	}
	if err := adm.DeleteAccessPolicy(ctx, "read"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("delete a missing policy: %v", err)
	}

	if err := adm.SetKeyStatus(ctx, k.AccessKey, false); err != nil {
		t.Fatal(err)
	}
	if id, err := adm.Identity(ctx, k.AccessKey); err != nil || id.Key.Active() || id.Key.Status != client.KeyInactive {
		t.Fatalf("deactivated: %+v, %v", id.Key, err)
	}
	if err := adm.SetKeyStatus(ctx, k.AccessKey, true); err != nil {
		t.Fatal(err)
	}
	if got, err := adm.Key(ctx, k.AccessKey); err != nil || !got.Active() {
		t.Fatalf("activated: %+v, %v", got, err)
	}
	if err := adm.SetKeyStatus(ctx, "NOSUCHKEY", false); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("status of a missing key: %v", err)
	}

	if err := adm.DeleteUser(ctx, "root"); !errors.Is(err, client.ErrBadRequest) || !strings.Contains(err.Error(), "root") {
		t.Fatalf("delete root: %v", err)
	}
	if err := cl.CreateBucketWith(ctx, client.BucketSpec{Name: "bobs", Owner: "bob"}); err != nil {
		t.Fatal(err)
	}
	if err := adm.DeleteUser(ctx, "bob"); !errors.Is(err, client.ErrConflict) || !strings.Contains(err.Error(), "bobs") {
		t.Fatalf("delete a bucket owner: %v", err)
	}
	if err := adm.DeleteUser(ctx, "nobody"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("delete a missing user: %v", err)
	}
	if err := adm.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.User(ctx, "alice"); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("deleted user: %v", err)
	}
	if _, err := adm.Key(ctx, k.AccessKey); !errors.Is(err, client.ErrNotFound) {
		t.Fatalf("key of a deleted user: %v", err)
	}
}

func fullACL(owner string) client.ACL {
	return client.ACL{Owner: owner, Grants: []client.Grant{
		{Grantee: client.Grantee{Type: client.GranteeCanonicalUser, ID: client.CanonicalID(owner), User: owner}, Permission: client.PermFullControl},
		{Grantee: client.Grantee{Type: client.GranteeGroup, URI: client.GroupAllUsers}, Permission: client.PermRead},
	}}
}

// TestBucketAndObjectAccess: CreateBucketWith an owner, bucket policy,
// ACL, ownership and public access block set and removed, object owner and
// ACL on put, multipart and SetObjectACL; bad inputs are ErrBadRequest and
// change nothing.
func TestBucketAndObjectAccess(t *testing.T) {
	_, cl := startData(t, 1)
	ctx := ctxT(t, 60*time.Second)
	adm := cl.Admin()
	if _, err := adm.CreateUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	acl := fullACL("alice")
	spec := client.BucketSpec{Name: "owned", Owner: "alice", Ownership: client.OwnershipObjectWriter, ACL: &acl}
	if err := cl.CreateBucketWith(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := cl.CreateBucketWith(ctx, client.BucketSpec{Name: "owned", Owner: "bob"}); !errors.Is(err, client.ErrBucketExists) {
		t.Fatalf("create again: %v", err)
	}
	for _, bad := range []client.BucketSpec{{Name: "bad1", Ownership: "Mine"}, {Name: "bad2", Owner: "no/slash"},
		{Name: "bad3", ACL: &client.ACL{Owner: "alice", Grants: []client.Grant{{Grantee: client.Grantee{Type: client.GranteeGroup, URI: "x"}, Permission: "READ"}}}}} {
		if err := cl.CreateBucketWith(ctx, bad); !errors.Is(err, client.ErrBadRequest) {
			t.Errorf("create %+v: %v", bad, err)
		}
	}
	b, err := cl.Bucket(ctx, "owned")
	if err != nil || b.Owner != "alice" || b.Ownership != client.OwnershipObjectWriter || b.ACL == nil || len(b.ACL.Grants) != 2 {
		t.Fatalf("bucket %+v, %v", b, err)
	}
	pab := &client.PublicAccessBlock{BlockPublicAcls: true, BlockPublicPolicy: true}
	for _, err := range []error{
		cl.SetBucketPolicy(ctx, "owned", publicRead),
		cl.SetBucketOwnership(ctx, "owned", client.OwnershipBucketOwnerEnforced),
		cl.SetPublicAccessBlock(ctx, "owned", pab),
		cl.SetBucketACL(ctx, "owned", client.ACL{Owner: "alice"}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	want := func(policy, ownership string, pab *client.PublicAccessBlock, grants int) {
		t.Helper()
		b, err := cl.Bucket(ctx, "owned")
		if err != nil || b.Policy != policy || b.Ownership != ownership || (b.PublicAccessBlock == nil) != (pab == nil) ||
			pab != nil && *b.PublicAccessBlock != *pab || b.ACL == nil || len(b.ACL.Grants) != grants {
			t.Fatalf("bucket %+v, %v", b, err)
		}
	}
	want(publicRead, client.OwnershipBucketOwnerEnforced, pab, 0)
	for name, err := range map[string]error{
		"policy":     cl.SetBucketPolicy(ctx, "owned", "[]"),
		"grammar":    cl.SetBucketPolicy(ctx, "owned", `{"Statement":[{"Effect":"Maybe"}]}`),
		"big policy": cl.SetBucketPolicy(ctx, "owned", `{"a":"`+strings.Repeat("x", client.MaxPolicyDocument)+`"}`),
		"ownership":  cl.SetBucketOwnership(ctx, "owned", "Everyone"),
		"acl":        cl.SetBucketACL(ctx, "owned", client.ACL{Owner: "alice", Grants: []client.Grant{{Grantee: client.Grantee{Type: client.GranteeCanonicalUser, ID: "short"}, Permission: "READ"}}}),
		"permission": cl.SetBucketACL(ctx, "owned", client.ACL{Owner: "alice", Grants: []client.Grant{{Grantee: client.Grantee{Type: client.GranteeGroup, URI: client.GroupAllUsers}, Permission: "ALL"}}}),
	} {
		if !errors.Is(err, client.ErrBadRequest) {
			t.Errorf("bad %s: %v", name, err)
		}
	}
	want(publicRead, client.OwnershipBucketOwnerEnforced, pab, 0)
	if err := cl.SetBucketPolicy(ctx, "missing", allowGet); !errors.Is(err, client.ErrNoSuchBucket) {
		t.Fatalf("policy of a missing bucket: %v", err)
	}
	for _, err := range []error{
		cl.SetBucketPolicy(ctx, "owned", ""),
		cl.SetBucketOwnership(ctx, "owned", ""),
		cl.SetPublicAccessBlock(ctx, "owned", nil),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	want("", "", nil, 0)

	// Objects: owner and ACL through PutOptions, a multipart upload, and
	// SetObjectACL of the newest and of an older version.
	if err := cl.SetVersioning(ctx, "owned", client.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	opts := &client.PutOptions{ObjectHeaders: client.ObjectHeaders{Owner: "alice", ACL: &acl}}
	first, err := cl.Put(ctx, "owned", "o", bytes.NewReader([]byte("one")), 3, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Put(ctx, "owned", "o", bytes.NewReader([]byte("two")), 3, &client.PutOptions{ObjectHeaders: client.ObjectHeaders{Owner: "alice"}}); err != nil {
		t.Fatal(err)
	}
	if info, err := cl.Stat(ctx, "owned", "o"); err != nil || info.Owner != "alice" || info.ACL != nil {
		t.Fatalf("second version %+v, %v", info, err)
	}
	if err := cl.SetObjectACL(ctx, "owned", "o", "", acl); err != nil {
		t.Fatal(err)
	}
	if err := cl.SetObjectACL(ctx, "owned", "o", first.VersionID, client.ACL{Owner: "alice"}); err != nil {
		t.Fatal(err)
	}
	if info, err := cl.Stat(ctx, "owned", "o"); err != nil || info.ACL == nil || len(info.ACL.Grants) != 2 {
		t.Fatalf("newest after SetObjectACL %+v, %v", info, err)
	}
	o, err := cl.OpenVersion(ctx, "owned", "o", first.VersionID)
	if err != nil {
		t.Fatal(err)
	}
	if info := o.Info(); info.ACL == nil || len(info.ACL.Grants) != 0 || info.Owner != "alice" {
		t.Fatalf("first version %+v", info)
	}
	o.Close()
	if err := cl.SetObjectACL(ctx, "owned", "nope", "", acl); !errors.Is(err, client.ErrNoSuchKey) {
		t.Fatalf("acl of a missing object: %v", err)
	}
	if err := cl.SetObjectACL(ctx, "owned", "o", "", client.ACL{}); !errors.Is(err, client.ErrBadRequest) {
		t.Fatalf("acl without an owner: %v", err)
	}
	if _, err := cl.Put(ctx, "owned", "p", bytes.NewReader([]byte("x")), 1, &client.PutOptions{ObjectHeaders: client.ObjectHeaders{Owner: "a b"}}); !errors.Is(err, client.ErrBadRequest) {
		t.Fatalf("put with a bad owner: %v", err)
	}
	up, err := cl.CreateUpload(ctx, "owned", "mp", opts)
	if err != nil {
		t.Fatal(err)
	}
	part, err := cl.PutPart(ctx, "owned", up.ID, 1, bytes.NewReader([]byte("part")), 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CompleteUpload(ctx, "owned", up.ID, []client.CompletePart{{Number: 1, ETag: part.ETag}}); err != nil {
		t.Fatal(err)
	}
	if info, err := cl.Stat(ctx, "owned", "mp"); err != nil || info.Owner != "alice" || info.ACL == nil || len(info.ACL.Grants) != 2 {
		t.Fatalf("multipart object %+v, %v", info, err)
	}
}
