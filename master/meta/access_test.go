package meta

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

func accessFixture(t *testing.T) *testFSM {
	tf := newTestFSM(t)
	tf.mustApply(OpPutUser, PutUser{User: proto.User{Name: "root", Created: goldenAt}})
	tf.mustApply(OpPutUser, PutUser{User: proto.User{Name: "alice", Created: goldenAt}})
	tf.mustApply(OpPutKey, PutKey{Key: proto.AccessKey{AccessKey: "AK1", SecretKey: "secret-1-long", User: "alice", Created: goldenAt}})
	tf.mustApply(OpPutKey, PutKey{Key: proto.AccessKey{AccessKey: "AK2", SecretKey: "secret-2-long", User: "alice", Created: goldenAt}})
	tf.mustApply(OpPutKey, PutKey{Key: proto.AccessKey{AccessKey: "RK", SecretKey: "secret-r-long", User: "root", Created: goldenAt}})
	return tf
}

const readAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`

// TestKeyStatus: a key is deactivated and activated again; a key without
// a status (made before states) is active; refusals change nothing.
func TestKeyStatus(t *testing.T) {
	tf := accessFixture(t)
	if k, _ := tf.f.AccessKey("AK1"); !k.Active() || k.Status != "" {
		t.Fatalf("old key: %+v", k)
	}
	tf.mustApply(OpSetKeyStatus, SetKeyStatus{AccessKey: "AK1", Status: proto.KeyInactive})
	if k, _ := tf.f.AccessKey("AK1"); k.Active() || k.SecretKey != "secret-1-long" {
		t.Fatalf("deactivated key: %+v", k)
	}
	tf.mustApply(OpSetKeyStatus, SetKeyStatus{AccessKey: "AK1", Status: proto.KeyActive})
	if k, _ := tf.f.AccessKey("AK1"); !k.Active() {
		t.Fatalf("activated key: %+v", k)
	}
	tf.refused(OpSetKeyStatus, SetKeyStatus{AccessKey: "AK1", Status: "Off"}, ErrInvalid)
	tf.refused(OpSetKeyStatus, SetKeyStatus{AccessKey: "nope", Status: proto.KeyInactive}, ErrNotFound)
	tf.refused(OpPutKey, PutKey{Key: proto.AccessKey{AccessKey: "AK3", SecretKey: "secret-3-long", User: "alice", Status: "On"}}, ErrInvalid)
}

// TestDeleteUser deletes a user with its keys, and refuses root, an owner
// of a bucket and a missing user without a change.
func TestDeleteUser(t *testing.T) {
	tf := accessFixture(t)
	tf.mustApply(OpPutUser, PutUser{User: proto.User{Name: "bob", Created: goldenAt}})
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bobs", Owner: "bob", Created: goldenAt}})
	tf.refused(OpDeleteUser, DeleteUser{Name: "root"}, ErrInvalid)
	tf.refused(OpDeleteUser, DeleteUser{Name: "nobody"}, ErrNotFound)
	tf.refused(OpDeleteUser, DeleteUser{Name: "bob"}, ErrConflict)
	if _, err := tf.apply(OpDeleteUser, DeleteUser{Name: "bob"}); err == nil || !strings.Contains(err.Error(), "bucket bobs") {
		t.Fatalf("delete an owner: %v", err)
	}
	tf.mustApply(OpDeleteUser, DeleteUser{Name: "alice"})
	if _, err := tf.f.User("alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted user: %v", err)
	}
	ks, _ := tf.f.Keys("")
	if len(ks) != 1 || ks[0].AccessKey != "RK" {
		t.Fatalf("keys after delete: %+v", ks)
	}
}

// TestAccessPolicies: put, replace, attach (twice), detach, delete, and
// the refusals (bad documents, attached, missing) that change nothing.
func TestAccessPolicies(t *testing.T) {
	tf := accessFixture(t)
	for name, doc := range map[string]string{
		"not json":  "{",
		"not obj":   `["a"]`,
		"null":      "null",
		"too large": `{"a":"` + strings.Repeat("x", proto.MaxPolicyDocument) + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			tf.refused(OpPutAccessPolicy, PutAccessPolicy{Policy: proto.AccessPolicy{Name: "p", Document: doc}}, ErrInvalid)
		})
	}
	tf.refused(OpPutAccessPolicy, PutAccessPolicy{Policy: proto.AccessPolicy{Name: "bad/name", Document: readAll}}, ErrInvalid)
	tf.mustApply(OpPutAccessPolicy, PutAccessPolicy{Policy: proto.AccessPolicy{Name: "read", Document: "{}", Updated: goldenAt}})
	tf.mustApply(OpPutAccessPolicy, PutAccessPolicy{Policy: proto.AccessPolicy{Name: "read", Document: readAll, Updated: goldenAt}})
	tf.mustApply(OpPutAccessPolicy, PutAccessPolicy{Policy: proto.AccessPolicy{Name: "admin", Document: "{}", Updated: goldenAt}})
	if p, _ := tf.f.AccessPolicy("read"); p.Document != readAll {
		t.Fatalf("replaced policy: %+v", p)
	}
	if ps, _ := tf.f.AccessPolicies(); len(ps) != 2 || ps[0].Name != "admin" || ps[1].Name != "read" {
		t.Fatalf("policies: %+v", ps)
	}
	tf.refused(OpAttachPolicy, AttachPolicy{User: "alice", Policy: "nope"}, ErrNotFound)
	tf.refused(OpAttachPolicy, AttachPolicy{User: "nobody", Policy: "read"}, ErrNotFound)
	tf.mustApply(OpAttachPolicy, AttachPolicy{User: "alice", Policy: "read"})
	tf.mustApply(OpAttachPolicy, AttachPolicy{User: "alice", Policy: "admin"})
	tf.mustApply(OpAttachPolicy, AttachPolicy{User: "alice", Policy: "read"}) // again: nothing
	if u, _ := tf.f.User("alice"); !slices.Equal(u.Policies, []string{"admin", "read"}) {
		t.Fatalf("attached: %+v", u)
	}
	// Making the user again keeps its policies.
	tf.mustApply(OpPutUser, PutUser{User: proto.User{Name: "alice", Created: goldenAt}})
	if u, _ := tf.f.User("alice"); !slices.Equal(u.Policies, []string{"admin", "read"}) {
		t.Fatalf("made again: %+v", u)
	}
	id, err := tf.f.Identity("AK2")
	if err != nil || id.Key.SecretKey != "secret-2-long" || id.User.Name != "alice" || len(id.Policies) != 2 ||
		id.Policies[1].Document != readAll {
		t.Fatalf("identity: %+v %v", id, err)
	}
	if _, err := tf.f.Identity("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("identity of a missing key: %v", err)
	}
	_, err = tf.apply(OpDeleteAccessPolicy, DeleteAccessPolicy{Name: "read"})
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "alice") {
		t.Fatalf("delete an attached policy: %v", err)
	}
	tf.refused(OpDeleteAccessPolicy, DeleteAccessPolicy{Name: "read"}, ErrConflict)
	tf.refused(OpDeleteAccessPolicy, DeleteAccessPolicy{Name: "nope"}, ErrNotFound)
	tf.mustApply(OpAttachPolicy, AttachPolicy{User: "alice", Policy: "read", Detach: true})
	tf.mustApply(OpAttachPolicy, AttachPolicy{User: "alice", Policy: "read", Detach: true}) // again: nothing
	tf.mustApply(OpDeleteAccessPolicy, DeleteAccessPolicy{Name: "read"})
	if u, _ := tf.f.User("alice"); !slices.Equal(u.Policies, []string{"admin"}) {
		t.Fatalf("detached: %+v", u)
	}
	if _, err := tf.f.AccessPolicy("read"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted policy: %v", err)
	}
}

func testACL(owner string) proto.ACL {
	return proto.ACL{Owner: owner, Grants: []proto.Grant{
		{Grantee: proto.Grantee{Type: proto.GranteeCanonicalUser, ID: proto.CanonicalID(owner), User: owner}, Permission: proto.PermFullControl},
		{Grantee: proto.Grantee{Type: proto.GranteeGroup, URI: proto.GroupAllUsers}, Permission: proto.PermRead},
	}}
}

// TestBucketAccess: policy, ACL, ownership and public access block are
// set, replaced and removed one at a time; bad values change nothing.
func TestBucketAccess(t *testing.T) {
	tf := accessFixture(t)
	acl := testACL("alice")
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1", Owner: "alice", Created: goldenAt,
		Ownership: proto.OwnershipObjectWriter, ACL: &acl}})
	doc := readAll
	own := proto.OwnershipBucketOwnerEnforced
	pab := proto.PublicAccessBlock{BlockPublicAcls: true, RestrictPublicBuckets: true}
	tf.mustApply(OpPutBucketConf, PutBucketConf{Bucket: "bk1", Policy: &doc, Ownership: &own, PublicAccessBlock: &pab})
	b, _ := tf.f.Bucket("bk1")
	if b.Policy != readAll || b.Ownership != own || *b.PublicAccessBlock != pab || b.ACL == nil || len(b.ACL.Grants) != 2 {
		t.Fatalf("configured: %+v", b)
	}
	bad := proto.ACL{Owner: "alice", Grants: []proto.Grant{{Grantee: proto.Grantee{Type: proto.GranteeGroup, URI: "http://x"}, Permission: "READ"}}}
	badPerm := proto.ACL{Owner: "alice", Grants: []proto.Grant{{Grantee: proto.Grantee{Type: proto.GranteeGroup, URI: proto.GroupAllUsers}, Permission: "ALL"}}}
	badID := proto.ACL{Owner: "alice", Grants: []proto.Grant{{Grantee: proto.Grantee{Type: proto.GranteeCanonicalUser, ID: "alice"}, Permission: "READ"}}}
	notJSON, wrong := "{", "Mine"
	for _, c := range []PutBucketConf{
		{Bucket: "bk1", ACL: &bad}, {Bucket: "bk1", ACL: &badPerm}, {Bucket: "bk1", ACL: &badID},
		{Bucket: "bk1", Policy: &notJSON}, {Bucket: "bk1", Ownership: &wrong},
	} {
		tf.refused(OpPutBucketConf, c, ErrInvalid)
	}
	tf.refused(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk2", Ownership: wrong}}, ErrInvalid)
	tf.refused(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk2", ACL: &bad}}, ErrInvalid)
	empty := ""
	tf.mustApply(OpPutBucketConf, PutBucketConf{Bucket: "bk1", Policy: &empty, Ownership: &empty, ClearPublicAccessBlock: true})
	b, _ = tf.f.Bucket("bk1")
	if b.Policy != "" || b.Ownership != "" || b.PublicAccessBlock != nil || b.ACL == nil {
		t.Fatalf("removed: %+v", b)
	}
	raw, _ := json.Marshal(b)
	if strings.Contains(string(raw), "policy") || strings.Contains(string(raw), "publicAccessBlock") {
		t.Fatalf("removed settings still encoded: %s", raw)
	}
}

// TestObjectACL: the ACL of the newest version or of an older one is
// replaced without a new version; refusals change nothing.
func TestObjectACL(t *testing.T) {
	tf := accessFixture(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1", Created: goldenAt}})
	tf.mustApply(OpSetVersioning, SetVersioning{Bucket: "bk1", Status: proto.VersioningEnabled})
	first := goldenInline("bk1", "o", "one")
	first.Owner = "alice"
	v1 := tf.mustApply(OpPutObject, PutObject{Object: first}).(CommitResult).Version
	v2 := tf.mustApply(OpPutObject, PutObject{Object: goldenInline("bk1", "o", "two")}).(CommitResult).Version
	acl := testACL("alice")
	tf.mustApply(OpPutObjectACL, PutObjectACL{Bucket: "bk1", Key: "o", ACL: acl})
	cur, _ := tf.f.Object("bk1", "o")
	if cur.Version != v2 || cur.ACL == nil || len(cur.ACL.Grants) != 2 {
		t.Fatalf("newest: %+v", cur)
	}
	old := proto.ACL{Owner: "alice"}
	tf.mustApply(OpPutObjectACL, PutObjectACL{Bucket: "bk1", Key: "o", VersionID: proto.VersionIDFor(v1), ACL: old})
	older, err := tf.f.ObjectVersion("bk1", "o", proto.VersionIDFor(v1))
	if err != nil || older.ACL == nil || older.ACL.Owner != "alice" || len(older.ACL.Grants) != 0 || older.Owner != "alice" {
		t.Fatalf("older version: %+v %v", older, err)
	}
	if cur, _ := tf.f.Object("bk1", "o"); cur.Version != v2 || len(cur.ACL.Grants) != 2 {
		t.Fatalf("newest after the older one's change: %+v", cur)
	}
	tf.refused(OpPutObjectACL, PutObjectACL{Bucket: "bk1", Key: "nope", ACL: acl}, ErrNoSuchKey)
	tf.refused(OpPutObjectACL, PutObjectACL{Bucket: "bk9", Key: "o", ACL: acl}, ErrNoSuchBucket)
	tf.refused(OpPutObjectACL, PutObjectACL{Bucket: "bk1", Key: "o", VersionID: proto.VersionIDFor(v2 + 100), ACL: acl}, ErrNotFound)
	tf.refused(OpPutObjectACL, PutObjectACL{Bucket: "bk1", Key: "o", ACL: proto.ACL{Owner: ""}}, ErrInvalid)
	// An object committed with a bad ACL or owner is refused.
	bad := goldenInline("bk1", "p", "x")
	bad.ACL = &proto.ACL{Owner: "alice", Grants: []proto.Grant{{Grantee: proto.Grantee{Type: "Email"}, Permission: "READ"}}}
	tf.refused(OpPutObject, PutObject{Object: bad}, ErrInvalid)
	bad.ACL, bad.Owner = nil, "no/slash"
	tf.refused(OpPutObject, PutObject{Object: bad}, ErrInvalid)
}

// TestOldRecordsDecode: records written before identity and access
// settings read with those unset (an empty key status is Active).
func TestOldRecordsDecode(t *testing.T) {
	var u proto.User
	var k proto.AccessKey
	var b proto.Bucket
	var o proto.Object
	for raw, v := range map[string]any{
		`{"name":"alice","created":"2025-01-02T03:04:05Z"}`:                                                 &u,
		`{"accessKey":"AK1","secretKey":"s3cr3t-long","user":"alice","created":"2025-01-02T03:04:05Z"}`:     &k,
		`{"name":"bk1","created":"2025-01-02T03:04:05Z","owner":"alice","replication":3}`:                   &b,
		`{"bucket":"bk1","key":"o","size":1,"modified":"2025-01-02T03:04:05Z","version":7,"inline":"eA=="}`: &o,
	} {
		if err := json.Unmarshal([]byte(raw), v); err != nil {
			t.Fatal(err)
		}
		again, _ := json.Marshal(v)
		if string(again) != raw {
			t.Errorf("old record re-encodes as\n%s\nnot\n%s", again, raw)
		}
	}
	if u.Policies != nil || !k.Active() || b.ACL != nil || b.Policy != "" || b.PublicAccessBlock != nil || o.ACL != nil || o.Owner != "" {
		t.Fatalf("old records: %+v %+v %+v %+v", u, k, b, o)
	}
}

func TestCanonicalID(t *testing.T) {
	id := proto.CanonicalID("alice")
	if len(id) != 64 || id != proto.CanonicalID("alice") || id == proto.CanonicalID("bob") || strings.ToLower(id) != id {
		t.Fatalf("canonical id %q", id)
	}
	// Fixed for good: sha256("granary:user:alice"); ACLs store it.
	if id != "2da52af96f55122c56ac5e310b0d93564ececbeba4ad2f3f1b772be9d85682fc" {
		t.Fatalf("canonical id of alice changed: %s", id)
	}
}
