package meta

import (
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

// TestGoldenAccessEntries: the identity and access opcodes (key status,
// user deletion, access policies and their attachment, object ACLs) and
// the access fields of buckets, bucket configurations and objects, in
// testdata/access_log.golden, after the first five logs.
func TestGoldenAccessEntries(t *testing.T) {
	checkGoldenSet(t, "access", goldenAccessBase(), goldenAccessLog(), OpSetKeyStatus, OpPutObjectACL)
}

func goldenAccessBase() []goldenEntry {
	prior := append(append(goldenLog(), goldenConfLog()...), goldenVersionLog()...)
	base := append(prior, goldenLockLog(len(prior))...)
	return append(base, goldenLifecycleLog(len(base))...)
}

func goldenAccessLog() []goldenEntry {
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::bk7/*"}]}`
	acl := proto.ACL{Owner: "bob", Grants: []proto.Grant{
		{Grantee: proto.Grantee{Type: proto.GranteeCanonicalUser, ID: proto.CanonicalID("bob"), User: "bob"}, Permission: proto.PermFullControl},
		{Grantee: proto.Grantee{Type: proto.GranteeGroup, URI: proto.GroupAuthenticatedUsers}, Permission: proto.PermRead},
	}}
	bad := proto.ACL{Owner: "bob", Grants: []proto.Grant{{Grantee: proto.Grantee{Type: "Email"}, Permission: proto.PermRead}}}
	own, none := proto.OwnershipBucketOwnerPreferred, ""
	pab := proto.PublicAccessBlock{BlockPublicAcls: true, IgnorePublicAcls: true}
	obj := goldenInline("bk7", "o", "owned bytes")
	obj.Owner, obj.ACL = "bob", &acl
	return []goldenEntry{
		v1(OpPutKey, PutKey{Key: proto.AccessKey{AccessKey: "AK7", SecretKey: "secret-seven", User: "bob", Created: goldenAt, Status: proto.KeyActive}}),
		v1(OpSetKeyStatus, SetKeyStatus{AccessKey: "AK1", Status: proto.KeyInactive}),
		v2(601, OpSetKeyStatus, SetKeyStatus{AccessKey: "AK1", Status: proto.KeyActive}),
		v1(OpSetKeyStatus, SetKeyStatus{AccessKey: "AK1", Status: "Off"}), // refused
		v1(OpPutAccessPolicy, PutAccessPolicy{Policy: proto.AccessPolicy{Name: "bk7-all", Document: doc, Updated: goldenAt}}),
		v2(602, OpPutAccessPolicy, PutAccessPolicy{Policy: proto.AccessPolicy{Name: "empty", Document: "{}", Updated: goldenAt}}),
		v1(OpPutAccessPolicy, PutAccessPolicy{Policy: proto.AccessPolicy{Name: "bad", Document: "[]", Updated: goldenAt}}), // refused
		v1(OpAttachPolicy, AttachPolicy{User: "bob", Policy: "bk7-all"}),
		v2(603, OpAttachPolicy, AttachPolicy{User: "bob", Policy: "empty"}),
		v1(OpAttachPolicy, AttachPolicy{User: "bob", Policy: "empty", Detach: true}),
		v1(OpAttachPolicy, AttachPolicy{User: "carol", Policy: "empty"}), // refused
		v1(OpDeleteAccessPolicy, DeleteAccessPolicy{Name: "bk7-all"}),    // refused: attached
		v2(604, OpDeleteAccessPolicy, DeleteAccessPolicy{Name: "empty"}),
		v1(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk7", Created: goldenAt, Owner: "bob",
			Ownership: proto.OwnershipObjectWriter, ACL: &acl}}),
		v1(OpPutBucketConf, PutBucketConf{Bucket: "bk7", Policy: &doc, Ownership: &own, PublicAccessBlock: &pab}),
		v2(605, OpPutBucketConf, PutBucketConf{Bucket: "bk7", ACL: &bad}), // refused
		v1(OpPutBucketConf, PutBucketConf{Bucket: "bk7", Ownership: &none, ClearPublicAccessBlock: true}),
		v1(OpPutObject, PutObject{Object: obj}),
		v1(OpPutObjectACL, PutObjectACL{Bucket: "bk7", Key: "o", ACL: proto.ACL{Owner: "bob"}}),
		v2(606, OpPutObjectACL, PutObjectACL{Bucket: "bk7", Key: "o", ACL: acl}),
		v1(OpPutObjectACL, PutObjectACL{Bucket: "bk7", Key: "none", ACL: acl}), // refused
		v1(OpDeleteUser, DeleteUser{Name: "bob"}),                              // refused: owns bk7
		v1(OpDeleteUser, DeleteUser{Name: "root"}),                             // refused
		v2(607, OpPutUser, PutUser{User: proto.User{Name: "dave", Created: goldenAt}}),
		v1(OpPutKey, PutKey{Key: proto.AccessKey{AccessKey: "AK8", SecretKey: "secret-eight", User: "dave", Created: goldenAt}}),
		v2(608, OpDeleteUser, DeleteUser{Name: "dave"}),
	}
}
