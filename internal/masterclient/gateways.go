package masterclient

import (
	"context"
	"net/http"

	"github.com/granary-store/granary/internal/proto"
)

// ReportGateway sends an S3 gateway's report to the leader. It is soft
// state, replaced by the next report, so it carries no request id.
func (c *Client) ReportGateway(ctx context.Context, rep proto.GatewayReport) error {
	return c.Call(ctx, http.MethodPost, proto.RouteGateways+"/report", nil, rep, nil)
}

// Gateways lists the S3 gateways the leader has heard from lately.
func (c *Client) Gateways(ctx context.Context) ([]proto.Gateway, error) {
	var gs []proto.Gateway
	err := c.Call(ctx, http.MethodGet, proto.RouteGateways, nil, nil, &gs)
	return gs, err
}
