package authn

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/sigv4"
	"github.com/granary-store/granary/internal/policy"
	"github.com/granary-store/granary/internal/proto"
)

// identities serves fixed keys and counts lookups.
type identities struct {
	keys    map[string]client.Identity
	lookups int
}

func (f *identities) Identity(_ context.Context, access string) (client.Identity, error) {
	f.lookups++
	id, ok := f.keys[access]
	if !ok {
		return id, client.ErrNotFound
	}
	return id, nil
}

func code(err error) string {
	var se *s3err.Error
	if errors.As(err, &se) {
		return se.Code
	}
	if err != nil {
		return "other"
	}
	return ""
}

func TestKeys(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := &identities{keys: map[string]client.Identity{
		"AKALICE": {Key: proto.AccessKey{AccessKey: "AKALICE", SecretKey: "s1", User: "alice"},
			Policies: []proto.AccessPolicy{{Name: "p", Document: `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"s3:ExistingObjectTag/x":"y"}}}]}`}}},
		"AKOLD": {Key: proto.AccessKey{AccessKey: "AKOLD", SecretKey: "s2", User: "bob", Status: proto.KeyInactive}},
	}}
	a := New(Config{Region: "us-east-1", MaxSkew: 15 * time.Minute, RootAccessKey: "AKROOT", RootSecretKey: "root-secret",
		Identities: ids, ParsePolicy: func(doc string) (*policy.Policy, error) { return policy.Parse([]byte(doc)) },
		Now: func() time.Time { return now }, Log: slog.New(slog.DiscardHandler)})
	ctx := context.Background()
	if k, err := a.Key(ctx, "AKROOT"); err != nil || k.Secret != "root-secret" || !k.Principal("AKROOT", "AWS", "REST-HEADER").Root || ids.lookups != 0 {
		t.Fatalf("root key: %+v %v (%d lookups)", k, err, ids.lookups)
	}
	k, err := a.Key(ctx, "AKALICE")
	p := k.Principal("AKALICE", "AWS4-HMAC-SHA256", "REST-HEADER")
	if err != nil || k.Secret != "s1" || p.User != "alice" || p.Root || len(p.Policies) != 1 || !p.TagConditions {
		t.Fatalf("stored key: %+v %v", p, err)
	}
	if _, err := a.Key(ctx, "AKOLD"); code(err) != "InvalidAccessKeyId" {
		t.Errorf("inactive key: %v", err)
	}
	if _, err := a.Key(ctx, "AKNOBODY"); code(err) != "InvalidAccessKeyId" {
		t.Errorf("unknown key: %v", err)
	}
	before := ids.lookups
	a.Key(ctx, "AKALICE")
	a.Key(ctx, "AKNOBODY")
	if ids.lookups != before {
		t.Errorf("cached keys were looked up again")
	}
	now = now.Add(11 * time.Second) // past the unknown key's 10 s, within the found key's 30 s
	a.Key(ctx, "AKALICE")
	a.Key(ctx, "AKNOBODY")
	if ids.lookups != before+1 {
		t.Errorf("%d lookups after the unknown key's expiry, want 1", ids.lookups-before)
	}
	if p, err := a.Authenticate(httptest.NewRequest("GET", "/b/k", nil)); err != nil || !p.Anonymous {
		t.Errorf("an unsigned request: %+v %v", p, err)
	}
}

func TestCheckTime(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	a := New(Config{MaxSkew: 15 * time.Minute, Now: func() time.Time { return now }})
	req := func(at time.Time, presigned bool, expires time.Duration) *sigv4.Request {
		return &sigv4.Request{Time: at, Presigned: presigned, Expires: expires, Cred: sigv4.Credential{Date: at.Format("20060102")}}
	}
	for _, c := range []struct {
		name string
		sr   *sigv4.Request
		want string
	}{
		{"now", req(now, false, 0), ""},
		{"skewed", req(now.Add(-16*time.Minute), false, 0), "RequestTimeTooSkewed"},
		{"presigned, valid", req(now.Add(-time.Hour), true, 2*time.Hour), ""},
		{"presigned, expired", req(now.Add(-time.Hour), true, time.Minute), "AccessDenied"},
		{"presigned in the future", req(now.Add(time.Hour), true, 2*time.Hour), "RequestTimeTooSkewed"},
	} {
		if err := a.checkTime(c.sr); code(err) != c.want {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
