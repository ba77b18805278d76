package masterclient

import (
	"context"
	"net/http"
	"net/url"

	"github.com/granary-store/granary/internal/proto"
)

// User returns a user with its canonical id and attached policies.
func (c *Client) User(ctx context.Context, name string) (proto.User, error) {
	var u proto.User
	err := c.Call(ctx, http.MethodGet, proto.RouteUsers+"/"+url.PathEscape(name), nil, nil, &u)
	return u, err
}

// DeleteUser deletes a user and its access keys.
func (c *Client) DeleteUser(ctx context.Context, name string) error {
	return c.change(ctx, http.MethodDelete, proto.RouteUsers+"/"+url.PathEscape(name), nil, nil)
}

// SetKeyStatus sets an access key's status (proto.KeyActive or
// proto.KeyInactive).
func (c *Client) SetKeyStatus(ctx context.Context, access, status string) error {
	return c.change(ctx, http.MethodPost, proto.RouteKeys+"/"+url.PathEscape(access)+"/status", proto.KeyStatusRequest{Status: status}, nil)
}

// PutAccessPolicy creates or replaces an access policy.
func (c *Client) PutAccessPolicy(ctx context.Context, req proto.AccessPolicyRequest) error {
	return c.change(ctx, http.MethodPost, proto.RouteAccessPolicies, req, nil)
}

// AccessPolicy returns an access policy.
func (c *Client) AccessPolicy(ctx context.Context, name string) (proto.AccessPolicy, error) {
	var p proto.AccessPolicy
	err := c.Call(ctx, http.MethodGet, proto.RouteAccessPolicies+"/"+url.PathEscape(name), nil, nil, &p)
	return p, err
}

// AccessPolicies lists the access policies in name order.
func (c *Client) AccessPolicies(ctx context.Context) ([]proto.AccessPolicy, error) {
	var ps []proto.AccessPolicy
	err := c.Call(ctx, http.MethodGet, proto.RouteAccessPolicies, nil, nil, &ps)
	return ps, err
}

// DeleteAccessPolicy deletes an access policy no user has attached.
func (c *Client) DeleteAccessPolicy(ctx context.Context, name string) error {
	return c.change(ctx, http.MethodDelete, proto.RouteAccessPolicies+"/"+url.PathEscape(name), nil, nil)
}

// Attach attaches a policy to a user, or detaches it (req.Detach).
func (c *Client) Attach(ctx context.Context, req proto.AttachRequest) error {
	return c.change(ctx, http.MethodPost, proto.RouteAttach, req, nil)
}

// Identity returns an access key with its secret, its user and the user's
// policy documents.
func (c *Client) Identity(ctx context.Context, access string) (proto.Identity, error) {
	var id proto.Identity
	err := c.Call(ctx, http.MethodGet, proto.RouteIdentity+"/"+url.PathEscape(access), nil, nil, &id)
	return id, err
}

// SetObjectACL replaces the ACL of an object's newest version or of one
// version.
func (c *Client) SetObjectACL(ctx context.Context, req proto.ObjectACLRequest) error {
	return c.change(ctx, http.MethodPost, proto.RouteObjectACL, req, nil)
}
