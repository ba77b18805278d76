package gateway

import (
	"context"
	"net/http"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/gateway/authz"
)

// Authorization is package authz's: the principal authentication yields
// travels in the request's context, and authorizeOp (dispatch.go) asks
// the Server's authz.Authorizer before the handler runs.

type principalKey struct{}

func withPrincipal(r *http.Request, p *authz.Principal) *http.Request {
	if op := noteOf(r); op != nil {
		op.p = p
	}
	return r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
}

// principalOf returns the request's principal (anonymous when none).
func principalOf(r *http.Request) *authz.Principal {
	if p, ok := r.Context().Value(principalKey{}).(*authz.Principal); ok {
		return p
	}
	return authz.Anonymous
}

// records gives the authorizer the cluster's bucket and object records.
type records struct{ c *client.Client }

func (c records) Bucket(ctx context.Context, name string) (client.Bucket, error) {
	return c.c.Bucket(ctx, name)
}

func (c records) Object(ctx context.Context, bucket, key, vid string) (client.ObjectInfo, error) {
	return objectInfo(ctx, c.c, bucket, key, vid)
}

// bucketInfo returns the record of bucket, from the authorizer's cache
// when fresh.
func (s *Server) bucketInfo(ctx context.Context, name string) (client.Bucket, error) {
	return s.authz.Bucket(ctx, name)
}

// forgetBucket drops name's cached record after a change through this
// gateway.
func (s *Server) forgetBucket(name string) { s.authz.Forget(name) }

// objectInfo returns the record of an object's latest version or of
// version vid.
func (s *Server) objectInfo(ctx context.Context, bucket, key, vid string) (client.ObjectInfo, error) {
	return objectInfo(ctx, s.client, bucket, key, vid)
}

func objectInfo(ctx context.Context, c *client.Client, bucket, key, vid string) (client.ObjectInfo, error) {
	if vid == "" {
		return c.Stat(ctx, bucket, key)
	}
	obj, err := c.OpenVersion(ctx, bucket, key, vid)
	if err != nil {
		return client.ObjectInfo{}, err
	}
	return obj.Info(), nil
}

// authorizeDelete decides one key of a DeleteObjects request: the delete
// (of a version, with vid), and the governance bypass when it asks for
// one.
func (s *Server) authorizeDelete(r *http.Request, bucket, key, vid string, bypass bool) error {
	a := authz.Access{P: principalOf(r), Action: "s3:DeleteObject", Bucket: bucket, Key: key, Version: vid}
	if vid != "" {
		a.Action = versionAction(a.Action)
	}
	if err := s.authz.Authorize(r, a); err != nil {
		return err
	}
	if bypass {
		a.Action = "s3:BypassGovernanceRetention"
		return s.authz.Authorize(r, a)
	}
	return nil
}
