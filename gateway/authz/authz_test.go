package authz

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/internal/policy"
	"github.com/granary-store/granary/internal/proto"
)

// fakeStore serves fixed records and counts bucket reads.
type fakeStore struct {
	buckets map[string]client.Bucket
	objects map[string]client.ObjectInfo
	reads   int
}

func (f *fakeStore) Bucket(_ context.Context, name string) (client.Bucket, error) {
	f.reads++
	b, ok := f.buckets[name]
	if !ok {
		return b, client.ErrNoSuchBucket
	}
	return b, nil
}

func (f *fakeStore) Object(_ context.Context, bucket, key, vid string) (client.ObjectInfo, error) {
	o, ok := f.objects[bucket+"/"+key]
	if !ok {
		return o, client.ErrNoSuchKey
	}
	return o, nil
}

func mustPolicy(t *testing.T, doc string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAuthorize(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	public := client.ACL{Owner: "owner", Grants: []client.Grant{{Grantee: client.Grantee{Type: proto.GranteeGroup, URI: proto.GroupAllUsers}, Permission: proto.PermRead}}}
	store := &fakeStore{
		buckets: map[string]client.Bucket{
			"site":    {Name: "site", Owner: "owner", Ownership: "BucketOwnerEnforced", Policy: `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"},{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/secret"}]}`},
			"acls":    {Name: "acls", Owner: "owner", Ownership: "ObjectWriter", ACL: &public},
			"blocked": {Name: "blocked", Owner: "owner", Ownership: "ObjectWriter", ACL: &public, PublicAccessBlock: &client.PublicAccessBlock{IgnorePublicAcls: true}},
		},
		objects: map[string]client.ObjectInfo{},
	}
	z := New(store, func() time.Time { return now }, slog.New(slog.DiscardHandler))
	alice := &Principal{User: "alice", Policies: []*policy.Policy{mustPolicy(t, `{"Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::acls/*"}]}`)}}
	owner := &Principal{User: "owner"}
	for _, c := range []struct {
		name string
		a    Access
		ok   bool
	}{
		{"root", Access{P: &Principal{Root: true, User: "root"}, Action: "s3:DeleteBucket", Bucket: "site"}, true},
		{"anonymous by policy", Access{P: Anonymous, Action: "s3:GetObject", Bucket: "site", Key: "index.html"}, true},
		{"explicit deny", Access{P: Anonymous, Action: "s3:GetObject", Bucket: "site", Key: "secret"}, false},
		{"explicit deny beats the owner", Access{P: owner, Action: "s3:GetObject", Bucket: "site", Key: "secret"}, false},
		{"owner", Access{P: owner, Action: "s3:PutBucketPolicy", Bucket: "site"}, true},
		{"not granted", Access{P: alice, Action: "s3:PutObject", Bucket: "site", Key: "k"}, false},
		{"user policy", Access{P: alice, Action: "s3:PutObject", Bucket: "acls", Key: "k"}, true},
		{"bucket ACL", Access{P: Anonymous, Action: "s3:ListBucket", Bucket: "acls"}, true},
		{"ACL not for writes", Access{P: Anonymous, Action: "s3:PutBucketAcl", Bucket: "acls"}, false},
		{"public ACL ignored", Access{P: Anonymous, Action: "s3:ListBucket", Bucket: "blocked"}, false},
		{"no such bucket: the handler answers", Access{P: alice, Action: "s3:ListBucket", Bucket: "none"}, true},
	} {
		err := z.Authorize(httptest.NewRequest("GET", "/", nil), c.a)
		var se *s3err.Error
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !c.ok && (!errors.As(err, &se) || se.Code != "AccessDenied"):
			t.Errorf("%s: %v, want AccessDenied", c.name, err)
		}
	}
	reads := store.reads
	z.Bucket(context.Background(), "site")
	if store.reads != reads {
		t.Errorf("a fresh bucket record was read again")
	}
	z.Forget("site")
	z.Bucket(context.Background(), "site")
	if store.reads != reads+1 {
		t.Errorf("a forgotten bucket record was not read again")
	}
}
