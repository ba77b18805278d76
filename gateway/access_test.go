package gateway_test

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway"
	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/internal/testcluster"
)

// accessEnv is a gateway with the root user's client and an admin client
// to make users, keys and policies with.
type accessEnv struct {
	t     *testing.T
	root  *minio.Client
	admin *client.Admin
	addr  string
}

func startAccess(t *testing.T) *accessEnv {
	t.Helper()
	c, mc, addr := startS3(t)
	admin, err := client.NewAdmin(client.Config{Masters: c.Addrs(), Secret: testcluster.Secret})
	if err != nil {
		t.Fatal(err)
	}
	return &accessEnv{t: t, root: mc, admin: admin, addr: addr}
}

// user creates a user with a key, attaches the named policies (created
// from docs), and returns a minio-go client signing as the user.
func (e *accessEnv) user(name string, docs ...string) (*minio.Client, client.AccessKey) {
	e.t.Helper()
	ctx := ctxT(e.t, 30*time.Second)
	if _, err := e.admin.CreateUser(ctx, name); err != nil {
		e.t.Fatal(err)
	}
	k, err := e.admin.CreateKey(ctx, name, "", "")
	if err != nil {
		e.t.Fatal(err)
	}
	for i, doc := range docs {
		pname := name + "-policy-" + string(rune('a'+i))
		if err := e.admin.PutAccessPolicy(ctx, pname, doc); err != nil {
			e.t.Fatal(err)
		}
		if err := e.admin.AttachAccessPolicy(ctx, name, pname); err != nil {
			e.t.Fatal(err)
		}
	}
	mc, err := minio.New(e.addr, &minio.Options{Creds: credentials.NewStaticV4(k.AccessKey, k.SecretKey, "")})
	if err != nil {
		e.t.Fatal(err)
	}
	return mc, k
}

func (e *accessEnv) put(mc *minio.Client, bucket, key, body string, opts minio.PutObjectOptions) error {
	_, err := mc.PutObject(ctxT(e.t, 30*time.Second), bucket, key, strings.NewReader(body), int64(len(body)), opts)
	return err
}

func (e *accessEnv) get(mc *minio.Client, bucket, key string) (string, error) {
	o, err := mc.GetObject(ctxT(e.t, 30*time.Second), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return "", err
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	return string(b), err
}

func code(err error) string {
	if err == nil {
		return ""
	}
	return minio.ToErrorResponse(err).Code
}

// wantCode fails unless err is the S3 error code want ("" for success).
func wantCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := code(err); got != want {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, want)
	}
}

func bucketNames(t *testing.T, mc *minio.Client) []string {
	t.Helper()
	bs, err := mc.ListBuckets(ctxT(t, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range bs {
		names = append(names, b.Name)
	}
	return names
}

const readSharedPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"ReadShared","Effect":"Allow",
	"Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::shared","arn:aws:s3:::shared/*"]}]}`

// TestAccessUserWithoutGrantsAndReadOnly: a new user can do nothing; one
// with a read-only policy on one bucket reads that bucket and nothing
// else, and every refused call changes nothing.
func TestAccessUserWithoutGrantsAndReadOnly(t *testing.T) {
	e := startAccess(t)
	ctx := ctxT(t, 2*time.Minute)
	for _, b := range []string{"shared", "private"} {
		if err := e.root.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := e.put(e.root, b, "k", "root's "+b, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	nobody, _ := e.user("nobody")
	if got := bucketNames(t, nobody); len(got) != 0 {
		t.Fatalf("a user without grants lists buckets %v", got)
	}
	_, err := e.get(nobody, "shared", "k")
	wantCode(t, "GET without a grant", err, "AccessDenied")
	wantCode(t, "PUT without a grant", e.put(nobody, "shared", "k", "overwritten", minio.PutObjectOptions{}), "AccessDenied")
	wantCode(t, "DELETE without a grant", nobody.RemoveObject(ctx, "shared", "k", minio.RemoveObjectOptions{}), "AccessDenied")
	wantCode(t, "DeleteBucket without a grant", nobody.RemoveBucket(ctx, "private"), "AccessDenied")
	wantCode(t, "CreateBucket without a grant", nobody.MakeBucket(ctx, "nobodys", minio.MakeBucketOptions{}), "AccessDenied")
	wantCode(t, "PutBucketPolicy without a grant", nobody.SetBucketPolicy(ctx, "shared", `{"Statement":[]}`), "AccessDenied")
	for err := range nobody.RemoveObjects(ctx, "shared", keysChan("k"), minio.RemoveObjectsOptions{}) {
		wantCode(t, "DeleteObjects without a grant", err.Err, "AccessDenied")
	}
	if got, err := e.get(e.root, "shared", "k"); err != nil || got != "root's shared" {
		t.Fatalf("refused calls changed the object: %q %v", got, err)
	}
	if ok, err := e.root.BucketExists(ctx, "private"); err != nil || !ok {
		t.Fatalf("refused DeleteBucket removed the bucket: %v %v", ok, err)
	}

	alice, _ := e.user("alice", readSharedPolicy)
	if got := bucketNames(t, alice); !slices.Equal(got, []string{"shared"}) {
		t.Fatalf("alice lists buckets %v, want [shared]", got)
	}
	if got, err := e.get(alice, "shared", "k"); err != nil || got != "root's shared" {
		t.Fatalf("alice reads shared/k: %q %v", got, err)
	}
	for o := range alice.ListObjects(ctx, "shared", minio.ListObjectsOptions{}) {
		if o.Err != nil || o.Key != "k" {
			t.Fatalf("alice lists shared: %+v", o)
		}
	}
	wantCode(t, "alice PUT in a read-only bucket", e.put(alice, "shared", "k2", "x", minio.PutObjectOptions{}), "AccessDenied")
	wantCode(t, "alice DELETE in a read-only bucket", alice.RemoveObject(ctx, "shared", "k", minio.RemoveObjectOptions{}), "AccessDenied")
	_, err = e.get(alice, "private", "k")
	wantCode(t, "alice GET elsewhere", err, "AccessDenied")
	_, err = alice.GetBucketTagging(ctx, "shared")
	wantCode(t, "alice GetBucketTagging (not granted)", err, "AccessDenied")

	// An explicit deny in the bucket policy wins over alice's allow.
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::000000000000:user/alice"},
		"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/secret/*"}]}`
	if err := e.root.SetBucketPolicy(ctx, "shared", deny); err != nil {
		t.Fatal(err)
	}
	if err := e.put(e.root, "shared", "secret/plan", "s", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deny to reach alice", func() bool {
		_, err := e.get(alice, "shared", "secret/plan")
		return code(err) == "AccessDenied"
	})
	if _, err := e.get(alice, "shared", "k"); err != nil {
		t.Fatalf("the deny of secret/* refused k: %v", err)
	}
	if got, err := e.root.GetBucketPolicy(ctx, "shared"); err != nil || got != deny {
		t.Fatalf("GetBucketPolicy = %q, %v", got, err)
	}
}

// TestAccessOwnership: a user allowed to create buckets owns what it
// creates; another user cannot take the name or touch the bucket.
func TestAccessOwnership(t *testing.T) {
	e := startAccess(t)
	ctx := ctxT(t, 2*time.Minute)
	creator := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:CreateBucket","Resource":"*"}]}`
	alice, _ := e.user("alice", creator)
	bob, _ := e.user("bob", creator)
	if err := alice.MakeBucket(ctx, "alices", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "bob creates alice's name", bob.MakeBucket(ctx, "alices", minio.MakeBucketOptions{}), "BucketAlreadyExists")
	wantCode(t, "alice creates her own again", alice.MakeBucket(ctx, "alices", minio.MakeBucketOptions{}), "BucketAlreadyOwnedByYou")
	if err := e.put(alice, "alices", "k", "hers", minio.PutObjectOptions{}); err != nil {
		t.Fatalf("the owner writes her bucket: %v", err)
	}
	_, err := e.get(bob, "alices", "k")
	wantCode(t, "bob reads alice's bucket", err, "AccessDenied")
	if got, err := e.get(e.root, "alices", "k"); err != nil || got != "hers" {
		t.Fatalf("root reads alice's bucket: %q %v", got, err)
	}
	if got := bucketNames(t, alice); !slices.Equal(got, []string{"alices"}) {
		t.Fatalf("alice lists %v", got)
	}
	if got := bucketNames(t, bob); len(got) != 0 {
		t.Fatalf("bob lists %v", got)
	}
	b, err := e.admin.Bucket(ctx, "alices")
	if err != nil || b.Owner != "alice" {
		t.Fatalf("bucket record owner %q, %v", b.Owner, err)
	}
	// Listings name the owner by canonical id and display name.
	for o := range alice.ListObjects(ctx, "alices", minio.ListObjectsOptions{WithMetadata: false, UseV1: true}) {
		if o.Err != nil || o.Owner.DisplayName != "alice" || o.Owner.ID != proto.CanonicalID("alice") {
			t.Fatalf("listing owner %+v (%v)", o.Owner, o.Err)
		}
	}
	// A deactivated key stops working once the gateway's cache expires.
	_, bk := e.user("carol", creator)
	if err := e.admin.SetKeyStatus(ctx, bk.AccessKey, false); err != nil {
		t.Fatal(err)
	}
	carol, _ := minio.New(e.addr, &minio.Options{Creds: credentials.NewStaticV4(bk.AccessKey, bk.SecretKey, "")})
	wantCode(t, "an inactive key", carol.MakeBucket(ctx, "carols", minio.MakeBucketOptions{}), "InvalidAccessKeyId")
}

// TestAccessAnonymousAndPublic: anonymous requests get only what a public
// policy or ACL grants, and nothing when the public access block says so.
func TestAccessAnonymousAndPublic(t *testing.T) {
	e := startAccess(t)
	ctx := ctxT(t, 2*time.Minute)
	if err := e.root.MakeBucket(ctx, "web", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.put(e.root, "web", "index.html", "<h1>hi</h1>", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	url := "http://" + e.addr + "/web/index.html"
	if st := anonGet(t, url); st != http.StatusForbidden {
		t.Fatalf("anonymous GET of a private bucket: %d", st)
	}
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::web/*"}]}`
	if err := e.root.SetBucketPolicy(ctx, "web", public); err != nil {
		t.Fatal(err)
	}
	if st := anonGet(t, url); st != http.StatusOK {
		t.Fatalf("anonymous GET of a public object: %d", st)
	}
	if st := anonGet(t, "http://"+e.addr+"/web"); st != http.StatusForbidden {
		t.Fatalf("anonymous listing (not granted): %d", st)
	}
	req, _ := http.NewRequest("PUT", "http://"+e.addr+"/web/evil", strings.NewReader("x"))
	if st, ec := send(t, req, "", "", false); st != http.StatusForbidden || ec.Code != "AccessDenied" {
		t.Fatalf("anonymous PUT: %d %s", st, ec.Code)
	}
	if _, err := e.root.StatObject(ctx, "web", "evil", minio.StatObjectOptions{}); code(err) != "NoSuchKey" {
		t.Fatalf("the refused anonymous PUT stored something: %v", err)
	}
	status, err := rawGet(t, e, "/web?policyStatus")
	if err != nil || !strings.Contains(status, "<IsPublic>true</IsPublic>") {
		t.Fatalf("policy status %q %v", status, err)
	}
	// The public access block: RestrictPublicBuckets cuts anonymous access
	// through the public policy; BlockPublicPolicy refuses a new one.
	pab := `<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy><RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>`
	if st := rawSend(t, e, "PUT", "/web?publicAccessBlock", pab); st != http.StatusOK {
		t.Fatalf("PutPublicAccessBlock: %d", st)
	}
	waitFor(t, "the public access block to cut anonymous reads", func() bool { return anonGet(t, url) == http.StatusForbidden })
	wantCode(t, "a public policy under BlockPublicPolicy", e.root.SetBucketPolicy(ctx, "web", public), "AccessDenied")
	if st := rawSend(t, e, "DELETE", "/web?publicAccessBlock", ""); st != http.StatusNoContent {
		t.Fatalf("DeletePublicAccessBlock: %d", st)
	}
	waitFor(t, "anonymous reads to come back", func() bool { return anonGet(t, url) == http.StatusOK })
}

// TestAccessACLs: with ACLs enabled (ObjectWriter), canned and explicit
// grants give access; with them disabled (the default) ACLs are refused.
func TestAccessACLs(t *testing.T) {
	e := startAccess(t)
	ctx := ctxT(t, 2*time.Minute)
	if err := e.root.MakeBucket(ctx, "plain", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	err := e.put(e.root, "plain", "k", "x", minio.PutObjectOptions{UserMetadata: map[string]string{"x-amz-acl": "public-read"}})
	wantCode(t, "public-read under BucketOwnerEnforced", err, "AccessControlListNotSupported")
	if st := rawSendH(t, e, "PUT", "/acls", "", map[string]string{"X-Amz-Object-Ownership": "ObjectWriter"}); st != http.StatusOK {
		t.Fatalf("CreateBucket with ObjectWriter: %d", st)
	}
	if err := e.put(e.root, "acls", "pub", "public bytes", minio.PutObjectOptions{UserMetadata: map[string]string{"x-amz-acl": "public-read"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.put(e.root, "acls", "priv", "private bytes", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if st := anonGet(t, "http://"+e.addr+"/acls/pub"); st != http.StatusOK {
		t.Fatalf("anonymous GET of a public-read object: %d", st)
	}
	if st := anonGet(t, "http://"+e.addr+"/acls/priv"); st != http.StatusForbidden {
		t.Fatalf("anonymous GET of a private object: %d", st)
	}
	acl, err := rawGet(t, e, "/acls/pub?acl")
	if err != nil || !strings.Contains(acl, proto.GroupAllUsers) || !strings.Contains(acl, "<Permission>READ</Permission>") {
		t.Fatalf("GetObjectAcl: %s %v", acl, err)
	}
	// A bucket READ grant to bob lets him list; nothing else.
	bob, _ := e.user("bob")
	if st := rawSendH(t, e, "PUT", "/acls?acl", "", map[string]string{"X-Amz-Grant-Read": `id="` + proto.CanonicalID("bob") + `"`}); st != http.StatusOK {
		t.Fatalf("PutBucketAcl: %d", st)
	}
	waitFor(t, "bob's READ grant", func() bool {
		for o := range bob.ListObjects(ctx, "acls", minio.ListObjectsOptions{}) {
			return o.Err == nil
		}
		return false
	})
	_, err = e.get(bob, "acls", "priv")
	wantCode(t, "bob reads a private object with a bucket READ grant", err, "AccessDenied")
	// IgnorePublicAcls makes the public grant count for nothing.
	ignore := `<PublicAccessBlockConfiguration><IgnorePublicAcls>true</IgnorePublicAcls></PublicAccessBlockConfiguration>`
	if st := rawSend(t, e, "PUT", "/acls?publicAccessBlock", ignore); st != http.StatusOK {
		t.Fatalf("PutPublicAccessBlock: %d", st)
	}
	waitFor(t, "IgnorePublicAcls to cut the public grant", func() bool { return anonGet(t, "http://"+e.addr+"/acls/pub") == http.StatusForbidden })
	if st := rawSend(t, e, "DELETE", "/acls?publicAccessBlock", ""); st != http.StatusNoContent {
		t.Fatalf("DeletePublicAccessBlock: %d", st)
	}
	waitFor(t, "the public grant to count again", func() bool { return anonGet(t, "http://"+e.addr+"/acls/pub") == http.StatusOK })
	// PutObjectAcl private takes the public grant away.
	if st := rawSendH(t, e, "PUT", "/acls/pub?acl", "", map[string]string{"X-Amz-Acl": "private"}); st != http.StatusOK {
		t.Fatalf("PutObjectAcl: %d", st)
	}
	if st := anonGet(t, "http://"+e.addr+"/acls/pub"); st != http.StatusForbidden {
		t.Fatalf("anonymous GET after PutObjectAcl private: %d", st)
	}
}

func keysChan(keys ...string) <-chan minio.ObjectInfo {
	ch := make(chan minio.ObjectInfo, len(keys))
	for _, k := range keys {
		ch <- minio.ObjectInfo{Key: k}
	}
	close(ch)
	return ch
}

func anonGet(t *testing.T, url string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	st, _ := send(t, req, "", "", false)
	return st
}

// rawSendH sends a root-signed request with headers and returns its status.
func rawSendH(t *testing.T, e *accessEnv, method, path, body string, h map[string]string) int {
	t.Helper()
	req := newReq(t, method, "http://"+e.addr+path, []byte(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	st, _ := send(t, req, rootAccess, rootSecret, true)
	return st
}

func rawSend(t *testing.T, e *accessEnv, method, path, body string) int {
	return rawSendH(t, e, method, path, body, nil)
}

// rawGet GETs path signed as root and returns the body.
func rawGet(t *testing.T, e *accessEnv, path string) (string, error) {
	t.Helper()
	req := newReq(t, "GET", "http://"+e.addr+path, nil)
	req = signer.SignV4(*req, rootAccess, rootSecret, "", "us-east-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(b), errors.New(resp.Status)
	}
	return string(b), nil
}

// waitFor polls cond until it holds (the gateway caches bucket records
// for a second), failing after ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startAccessWith(t *testing.T, tune func(*gateway.Config)) *accessEnv {
	t.Helper()
	c, mc, addr := startS3With(t, tune)
	admin, err := client.NewAdmin(client.Config{Masters: c.Addrs(), Secret: testcluster.Secret})
	if err != nil {
		t.Fatal(err)
	}
	return &accessEnv{t: t, root: mc, admin: admin, addr: addr}
}

// TestAccessEveryOperation walks the dispatch table: every implemented
// bucket and object operation, sent by a user without grants, is refused
// with AccessDenied and changes nothing; sent by a user whose policy
// allows exactly the operation's action, it is not refused for access.
func TestAccessEveryOperation(t *testing.T) {
	e := startAccess(t)
	f := &fixture{mc: e.root, addr: e.addr}
	ctx := ctxT(t, 5*time.Minute)
	for _, b := range []string{"keep", "empty"} {
		if err := e.root.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// ACLs on: the ACL grants below take part.
	ownership := `<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>`
	if st := rawSend(t, e, "PUT", "/keep?ownershipControls", ownership); st != http.StatusOK {
		t.Fatalf("PutBucketOwnershipControls: %d", st)
	}
	f.restore(t)
	_, nobody := e.user("nobody")
	body := []byte("<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>")
	checked, acled := 0, 0
	for i, o := range gateway.Ops() {
		if !o.Implemented || o.Target == "SERVICE" || o.Name == "PostObject" {
			continue // ListBuckets filters (TestAccessOwnership); POST uploads sign their form
		}
		path := "/keep"
		if o.Target == "OBJECT" {
			path = "/keep/obj"
		}
		what := o.Method + " " + path + query(o.Sub) + " (" + o.Name + ")"
		req := func() *http.Request { return newReq(t, o.Method, "http://"+e.addr+path+query(o.Sub), body) }
		status, ec := send(t, req(), nobody.AccessKey, nobody.SecretKey, true)
		if o.Name == "DeleteObjects" {
			status, ec = deleteObjectsAs(t, e, nobody)
		}
		if status != http.StatusForbidden || o.Method != "HEAD" && ec.Code != "AccessDenied" {
			t.Fatalf("%s without a grant: %d %s, want 403 AccessDenied", what, status, ec.Code)
		}
		f.check(t, what+" without a grant")

		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + o.Action +
			`","Resource":["arn:aws:s3:::keep","arn:aws:s3:::keep/*"]}]}`
		_, k := e.user("user"+strconv.Itoa(i), doc)
		status, ec = send(t, req(), k.AccessKey, k.SecretKey, true)
		if o.Name == "DeleteObjects" {
			status, ec = deleteObjectsAs(t, e, k)
		}
		if status == http.StatusForbidden || ec.Code == "AccessDenied" {
			t.Fatalf("%s allowed by a policy with %s: %d %s", what, o.Action, status, ec.Code)
		}
		f.restore(t)

		// The same action granted to nobody by the bucket policy (not
		// CreateBucket: a bucket's policy cannot let anyone create it).
		if o.Name == "CreateBucket" {
			checked++
			continue
		}
		bp := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/nobody"},"Action":"` +
			o.Action + `","Resource":["arn:aws:s3:::keep","arn:aws:s3:::keep/*"]}]}`
		if err := e.root.SetBucketPolicy(ctx, "keep", bp); err != nil {
			t.Fatal(err)
		}
		status, ec = send(t, req(), nobody.AccessKey, nobody.SecretKey, true)
		if o.Name == "DeleteObjects" {
			status, ec = deleteObjectsAs(t, e, nobody)
		}
		if status == http.StatusForbidden || ec.Code == "AccessDenied" {
			t.Fatalf("%s allowed by a bucket policy with %s: %d %s", what, o.Action, status, ec.Code)
		}
		if err := e.root.SetBucketPolicy(ctx, "keep", ""); err != nil {
			t.Fatal(err)
		}
		f.restore(t)

		// And by an ACL grant, where S3 lets one allow the action.
		if g, ok := aclGrants[o.Action]; ok {
			path := "/keep?acl"
			if g.object {
				path = "/keep/obj?acl"
			}
			grant := map[string]string{"X-Amz-Grant-" + g.perm: `id="` + proto.CanonicalID("nobody") + `"`}
			if st := rawSendH(t, e, "PUT", path, "", grant); st != http.StatusOK {
				t.Fatalf("grant %s for %s: %d", g.perm, what, st)
			}
			status, ec = send(t, req(), nobody.AccessKey, nobody.SecretKey, true)
			if o.Name == "DeleteObjects" {
				status, ec = deleteObjectsAs(t, e, nobody)
			}
			if status == http.StatusForbidden || ec.Code == "AccessDenied" {
				t.Fatalf("%s allowed by an ACL grant of %s: %d %s", what, g.perm, status, ec.Code)
			}
			rawSendH(t, e, "PUT", "/keep?acl", "", map[string]string{"X-Amz-Acl": "private"})
			f.restore(t)
			acled++
		}
		checked++
	}
	t.Logf("%d operations refused without a grant and allowed with their action by a user policy and by a bucket policy, %d by an ACL grant", checked, acled)
}

// aclGrants are the actions an ACL grant allows (S3's mapping of ACL
// permissions to operations): the permission, on the bucket or the object.
var aclGrants = map[string]struct {
	perm   string
	object bool
}{
	"s3:ListBucket": {"Read", false}, "s3:ListBucketVersions": {"Read", false}, "s3:ListBucketMultipartUploads": {"Read", false},
	"s3:PutObject": {"Write", false}, "s3:DeleteObject": {"Write", false}, "s3:AbortMultipartUpload": {"Write", false},
	"s3:ListMultipartUploadParts": {"Write", false},
	"s3:GetBucketAcl":             {"Read-Acp", false}, "s3:PutBucketAcl": {"Write-Acp", false},
	"s3:GetObject": {"Read", true}, "s3:GetObjectAcl": {"Read-Acp", true}, "s3:PutObjectAcl": {"Write-Acp", true},
}

// deleteObjectsAs sends DeleteObjects for keep/obj as k and returns 403
// AccessDenied when the key's entry was refused for access.
func deleteObjectsAs(t *testing.T, e *accessEnv, k client.AccessKey) (int, s3Err) {
	t.Helper()
	doc := []byte(`<Delete><Object><Key>obj</Key></Object></Delete>`)
	req := newReq(t, "POST", "http://"+e.addr+"/keep?delete", doc)
	sum := md5.Sum(doc)
	req.Header.Set("Content-Md5", base64.StdEncoding.EncodeToString(sum[:]))
	req = signer.SignV4(*req, k.AccessKey, k.SecretKey, "", "us-east-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && strings.Contains(string(raw), "<Code>AccessDenied</Code>") {
		return http.StatusForbidden, s3Err{Code: "AccessDenied"}
	}
	return resp.StatusCode, s3Err{}
}

// TestAWSCLIAccess: the AWS CLI sets and reads bucket policies, ACLs,
// ownership controls and public access blocks, and a second user's
// profile is refused and then allowed.
func TestAWSCLIAccess(t *testing.T) {
	aws := need(t, awsCLI)
	e := startAccess(t)
	api := s3apiJSON(t, aws, e.addr)
	text := s3apiText(t, aws, e.addr)
	text("create-bucket", "--bucket", "cli-acl", "--object-ownership", "BucketOwnerPreferred")
	body := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(body, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	text("put-object", "--bucket", "cli-acl", "--key", "k", "--body", body, "--acl", "public-read")
	acl := api("get-object-acl", "--bucket", "cli-acl", "--key", "k")
	if owner := acl["Owner"].(map[string]any); owner["ID"] != proto.CanonicalID("root") || owner["DisplayName"] != "root" {
		t.Fatalf("object ACL owner %v", owner)
	}
	if grants := acl["Grants"].([]any); len(grants) != 2 {
		t.Fatalf("public-read object ACL grants %v", grants)
	}
	ctl := api("get-bucket-ownership-controls", "--bucket", "cli-acl")
	if !strings.Contains(fmtJSON(ctl), "BucketOwnerPreferred") {
		t.Fatalf("ownership controls %v", ctl)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/dora"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::cli-acl/*"}]}`
	text("put-bucket-policy", "--bucket", "cli-acl", "--policy", doc)
	if got := api("get-bucket-policy", "--bucket", "cli-acl"); got["Policy"] != doc {
		t.Fatalf("get-bucket-policy %v", got)
	}
	if got := api("get-bucket-policy-status", "--bucket", "cli-acl"); fmtJSON(got) != `{"PolicyStatus":{"IsPublic":false}}` {
		t.Fatalf("policy status %v", got)
	}
	text("put-public-access-block", "--bucket", "cli-acl", "--public-access-block-configuration", "BlockPublicAcls=true,IgnorePublicAcls=false,BlockPublicPolicy=true,RestrictPublicBuckets=false")
	if out := s3apiFails(t, aws, e.addr, "put-object-acl", "--bucket", "cli-acl", "--key", "k", "--acl", "public-read-write"); !strings.Contains(out, "AccessDenied") {
		t.Fatalf("a public ACL under BlockPublicAcls: %s", out)
	}
	// dora: granted by the bucket policy only.
	_, k := e.user("dora")
	env := append(awsEnv(t.TempDir()), "AWS_ACCESS_KEY_ID="+k.AccessKey, "AWS_SECRET_ACCESS_KEY="+k.SecretKey)
	ep := "--endpoint-url=http://" + e.addr
	waitFor(t, "dora's read through the bucket policy", func() bool {
		cmd := exec.Command(aws, ep, "s3api", "head-object", "--bucket", "cli-acl", "--key", "k")
		cmd.Env = append(cmd.Environ(), env...)
		return cmd.Run() == nil
	})
	if out := cliFails(t, env, aws, ep, "s3api", "delete-object", "--bucket", "cli-acl", "--key", "k"); !strings.Contains(out, "AccessDenied") {
		t.Fatalf("dora's delete: %s", out)
	}
	text("delete-bucket-policy", "--bucket", "cli-acl")
	if out := s3apiFails(t, aws, e.addr, "get-bucket-policy", "--bucket", "cli-acl"); !strings.Contains(out, "NoSuchBucketPolicy") {
		t.Fatalf("get-bucket-policy after delete: %s", out)
	}
}

func fmtJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestAccessLogDeliveryWriteACL: the canned ACL log-delivery-write gives
// S3's LogDelivery group WRITE and READ_ACP on a bucket, shown by
// GetBucketAcl, and lets no Granary principal through (no one is the log
// delivery service); on an object it is refused as S3 refuses it, and
// aws-exec-read (a grant to Amazon EC2) is not implemented.
func TestAccessLogDeliveryWriteACL(t *testing.T) {
	e := startAccess(t)
	if st := rawSendH(t, e, "PUT", "/logs", "", map[string]string{"X-Amz-Object-Ownership": "ObjectWriter"}); st != http.StatusOK {
		t.Fatalf("CreateBucket with ObjectWriter: %d", st)
	}
	if st := rawSendH(t, e, "PUT", "/logs?acl", "", map[string]string{"X-Amz-Acl": "log-delivery-write"}); st != http.StatusOK {
		t.Fatalf("PutBucketAcl log-delivery-write: %d", st)
	}
	acl, err := rawGet(t, e, "/logs?acl")
	if err != nil || strings.Count(acl, proto.GroupLogDelivery) != 2 ||
		!strings.Contains(acl, "<Permission>WRITE</Permission>") || !strings.Contains(acl, "<Permission>READ_ACP</Permission>") {
		t.Fatalf("GetBucketAcl after log-delivery-write: %s %v", acl, err)
	}
	bob, _ := e.user("bob")
	err = e.put(bob, "logs", "k", "x", minio.PutObjectOptions{})
	wantCode(t, "bob writes into a log-delivery-write bucket", err, "AccessDenied")
	err = e.put(e.root, "logs", "k", "x", minio.PutObjectOptions{UserMetadata: map[string]string{"x-amz-acl": "log-delivery-write"}})
	wantCode(t, "log-delivery-write on an object", err, "InvalidArgument")
	err = e.put(e.root, "logs", "k", "x", minio.PutObjectOptions{UserMetadata: map[string]string{"x-amz-acl": "aws-exec-read"}})
	wantCode(t, "aws-exec-read on an object", err, "NotImplemented")
}
