// Package authn authenticates S3 requests: AWS Signature V4 (header and
// presigned, with the payload checks of sigv4 wrapped around the body)
// and Signature V2, against the root key of the configuration or keys
// stored in the cluster, looked up with their user and the user's access
// policies and cached. It yields the authz.Principal authorization
// decides for; an unsigned request is anonymous. Refusals are
// *s3err.Error values.
package authn

import (
	"context"
	"crypto/hmac"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/authz"
	"github.com/granary-store/granary/gateway/s3checksum"
	"github.com/granary-store/granary/gateway/s3err"
	"github.com/granary-store/granary/gateway/sigv2"
	"github.com/granary-store/granary/gateway/sigv4"
	"github.com/granary-store/granary/internal/policy"
	"github.com/granary-store/granary/internal/proto"
)

// Identities looks an access key up in the cluster; *client.Admin
// implements it.
type Identities interface {
	Identity(ctx context.Context, accessKey string) (client.Identity, error)
}

// Config configures an Authenticator. Every field is required but
// Domain, RootAccessKey and RootSecretKey.
type Config struct {
	Region        string        // the only region credentials may name
	Domain        string        // virtual-host style base domain ("": none)
	MaxSkew       time.Duration // the clock skew allowed
	RootAccessKey string
	RootSecretKey string
	Identities    Identities
	// ParsePolicy parses a stored access policy document.
	ParsePolicy func(doc string) (*policy.Policy, error)
	Now         func() time.Time
	Log         *slog.Logger
}

// Authenticator checks requests' signatures; it caches access keys and is
// safe for concurrent use.
type Authenticator struct {
	cfg  Config
	mu   sync.Mutex
	keys map[string]Key
}

// New returns an Authenticator.
func New(cfg Config) *Authenticator {
	return &Authenticator{cfg: cfg, keys: map[string]Key{}}
}

// Key is an access key's identity: its secret and who it signs for.
type Key struct {
	Secret        string
	user          string
	policies      []*policy.Policy // the user's attached access policies
	tagConditions bool             // some of them read s3:ExistingObjectTag
	inactive      bool
	until         time.Time
	missing       bool // the cluster has no such key
}

// Authenticate verifies the request's signature, wraps its body so that
// the payload is checked as it streams, and returns who signed it. An
// unsigned request is anonymous: authorization decides what it may do.
func (a *Authenticator) Authenticate(r *http.Request) (*authz.Principal, error) {
	var sr *sigv4.Request
	var err error
	authType := "REST-HEADER"
	switch {
	case sigv2.IsV2(r):
		return a.authenticateV2(r)
	case r.URL.Query().Get("X-Amz-Signature") != "":
		sr, err = sigv4.ParsePresigned(r.URL.Query())
		authType = "REST-QUERY-STRING"
	case r.Header.Get("Authorization") != "":
		sr, err = sigv4.ParseAuthHeader(r)
	default:
		return authz.Anonymous, nil
	}
	if err != nil {
		return nil, err
	}
	if sr.Cred.Region != a.cfg.Region {
		code := s3err.AuthorizationHeaderMalformed
		if sr.Presigned {
			code = s3err.AuthorizationQueryParametersError
		}
		return nil, s3err.New(code, "the region '%s' is wrong; expecting '%s'", sr.Cred.Region, a.cfg.Region)
	}
	if err := sigv4.CheckSignedHeaders(r, sr); err != nil {
		return nil, err
	}
	if err := a.checkTime(sr); err != nil {
		return nil, err
	}
	k, err := a.Key(r.Context(), sr.Cred.AccessKey)
	if err != nil {
		return nil, err
	}
	canonical, err := sigv4.CanonicalRequest(r, sr)
	if err != nil {
		return nil, err
	}
	key := sigv4.SigningKey(k.Secret, sr.Cred)
	if want := sigv4.Sign(key, sigv4.StringToSign(canonical, sr)); !hmac.Equal([]byte(want), []byte(sr.Signature)) {
		return nil, s3err.New(s3err.SignatureDoesNotMatch, "the request signature we calculated does not match the signature you provided")
	}
	if err := sigv4.WrapPayload(r, sr, key, s3checksum.TrailerHash); err != nil {
		return nil, err
	}
	return k.Principal(sr.Cred.AccessKey, "AWS4-HMAC-SHA256", authType), nil
}

// authenticateV2 verifies a Signature Version 2 request (header or
// presigned query string), which older clients such as the AWS CLI v1
// still send. V2 signs no payload hash: the body is taken as sent.
func (a *Authenticator) authenticateV2(r *http.Request) (*authz.Principal, error) {
	sr, err := sigv2.Parse(r)
	if err != nil {
		return nil, err
	}
	if a.cfg.Domain != "" {
		host, _, _ := strings.Cut(r.Host, ":")
		if bucket, ok := strings.CutSuffix(host, "."+a.cfg.Domain); ok && bucket != "" {
			sr.Bucket = bucket
		}
	}
	if err := sigv2.CheckTime(sr, a.cfg.Now(), a.cfg.MaxSkew); err != nil {
		return nil, err
	}
	k, err := a.Key(r.Context(), sr.AccessKey)
	if err != nil {
		return nil, err
	}
	if err := sigv2.Verify(r, sr, k.Secret); err != nil {
		return nil, err
	}
	authType := "REST-HEADER"
	if sr.Presigned {
		authType = "REST-QUERY-STRING"
	}
	return k.Principal(sr.AccessKey, "AWS", authType), nil
}

func (a *Authenticator) checkTime(sr *sigv4.Request) error {
	now := a.cfg.Now()
	if sr.Presigned {
		if now.After(sr.Time.Add(sr.Expires)) {
			return s3err.New(s3err.AccessDenied, "request has expired")
		}
		if sr.Time.Sub(now) > a.cfg.MaxSkew {
			return s3err.New(s3err.RequestTimeTooSkewed, "the request was signed in the future")
		}
		return nil
	}
	if d := now.Sub(sr.Time); d > a.cfg.MaxSkew || -d > a.cfg.MaxSkew {
		return s3err.New(s3err.RequestTimeTooSkewed, "the difference between the request time and the server's time is too large")
	}
	if sr.Time.UTC().Format("20060102") != sr.Cred.Date {
		return s3err.New(s3err.SignatureDoesNotMatch, "credential date does not match the request date")
	}
	return nil
}

// Access keys are cached: found ones for 30 s, unknown ones for 10 s (so
// random keys cannot turn every request into a leader lookup), at most
// maxCachedKeys of them. A key deactivated or deleted, or a policy
// changed, through the admin API takes effect within keyTTL.
const (
	keyTTL        = 30 * time.Second
	missingKeyTTL = 10 * time.Second
	maxCachedKeys = 10000
)

// Principal returns who a request signed with k is.
func (k Key) Principal(access, sigVer, authType string) *authz.Principal {
	return &authz.Principal{Root: k.user == proto.RootUser, User: k.user, AccessKey: access, SigVer: sigVer,
		AuthType: authType, Policies: k.policies, TagConditions: k.tagConditions}
}

// Key returns an access key's identity: the root key of the config, or
// a key stored in the cluster, which must be active.
func (a *Authenticator) Key(ctx context.Context, access string) (Key, error) {
	if a.cfg.RootAccessKey != "" && hmac.Equal([]byte(access), []byte(a.cfg.RootAccessKey)) {
		return Key{Secret: a.cfg.RootSecretKey, user: proto.RootUser}, nil
	}
	unknown := s3err.New(s3err.InvalidAccessKeyId, "the access key id you provided does not exist in our records")
	if proto.ValidID("access key", access) != nil {
		return Key{}, unknown
	}
	now := a.cfg.Now()
	a.mu.Lock()
	k, ok := a.keys[access]
	a.mu.Unlock()
	if !ok || !now.Before(k.until) {
		var err error
		if k, err = a.lookupKey(ctx, access, now); err != nil {
			return Key{}, err
		}
	}
	switch {
	case k.missing:
		return Key{}, unknown
	case k.inactive:
		return Key{}, s3err.New(s3err.InvalidAccessKeyId, "the access key id you provided is inactive")
	}
	return k, nil
}

// lookupKey asks the cluster for access's identity and caches the answer.
func (a *Authenticator) lookupKey(ctx context.Context, access string, now time.Time) (Key, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	id, err := a.cfg.Identities.Identity(ctx, access)
	missing := errors.Is(err, client.ErrNotFound)
	if err != nil && !missing {
		return Key{}, s3err.New(s3err.ServiceUnavailable, "cannot check credentials now: %v", err)
	}
	k := Key{missing: missing, until: now.Add(missingKeyTTL)}
	if !missing {
		k = Key{Secret: id.Key.SecretKey, user: id.Key.User, inactive: !id.Key.Active(), until: now.Add(keyTTL)}
		for _, ap := range id.Policies {
			p, err := a.cfg.ParsePolicy(ap.Document)
			if err != nil {
				a.cfg.Log.Warn("stored access policy does not parse; ignoring it", "policy", ap.Name, "user", id.Key.User, "err", err)
				continue
			}
			k.policies = append(k.policies, p)
			k.tagConditions = k.tagConditions || strings.Contains(strings.ToLower(ap.Document), "existingobjecttag")
		}
	}
	a.cacheKey(access, k, now)
	return k, nil
}

func (a *Authenticator) cacheKey(access string, k Key, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.keys) >= maxCachedKeys {
		for acc, c := range a.keys {
			if !now.Before(c.until) || c.missing {
				delete(a.keys, acc)
			}
		}
	}
	if len(a.keys) < maxCachedKeys {
		a.keys[access] = k
	}
}
