package alloc

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/wire"
	"github.com/granary-store/granary/placement"
)

// A full cluster is a different answer from a cluster short of live
// servers: 507 and not retryable, versus waiting for servers.
func TestPlacementErrorsTellFullFromShort(t *testing.T) {
	full := wire.Body(placementError(fmt.Errorf("chunk 7: %w", placement.ErrNoSpace)))
	if full.Code != proto.CodeNoSpace || full.Status != http.StatusInsufficientStorage || full.Retryable {
		t.Fatalf("no space: %+v", full)
	}
	short := wire.Body(placementError(fmt.Errorf("chunk 7: %w", placement.ErrNotEnoughServers)))
	if short.Code != proto.CodeNoServers || short.Status != http.StatusServiceUnavailable {
		t.Fatalf("not enough servers: %+v", short)
	}
}
