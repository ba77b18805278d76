package masterclient

import (
	"context"
	"net/http"
	"net/url"

	"github.com/granary-store/granary/internal/proto"
)

// Keys lists the access keys of user (every user's when empty), without
// their secrets.
func (c *Client) Keys(ctx context.Context, user string) ([]proto.AccessKey, error) {
	var ks []proto.AccessKey
	var q url.Values
	if user != "" {
		q = url.Values{"user": {user}}
	}
	err := c.Call(ctx, http.MethodGet, proto.RouteKeys, q, nil, &ks)
	return ks, err
}
