package client

import (
	"context"

	"github.com/granary-store/granary/internal/proto"
)

// Gateway is an S3 gateway as the leader knows it from its reports: its
// id (new at every start), address, start time, cumulative traffic by
// operation class, and the age of its last report.
type Gateway = proto.Gateway

// GatewayReport is what a gateway reports: its id, address, start time
// and traffic (embedded in Gateway).
type GatewayReport = proto.GatewayReport

// S3Traffic is a gateway's cumulative requests (by status class) and body
// bytes of one operation class (proto.S3Classes).
type S3Traffic = proto.S3Traffic

// BucketUsage is a bucket's objects and bytes as the leader last counted
// them (Bucket.Usage; nil until counted).
type BucketUsage = proto.BucketUsage

// Gateways lists the S3 gateways that reported to the leader lately
// (Status.Gateways has the same list).
func (a *Admin) Gateways(ctx context.Context) ([]Gateway, error) {
	gs, err := a.master.Gateways(ctx)
	return gs, classify(err)
}

// ReportGateway sends an S3 gateway's report to the leader (what
// granary gateway does every few seconds). Bound it with ctx: a report
// is worth nothing late.
func (a *Admin) ReportGateway(ctx context.Context, rep GatewayReport) error {
	return classify(a.master.ReportGateway(ctx, rep))
}
