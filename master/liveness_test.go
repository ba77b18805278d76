package master

import (
	"github.com/granary-store/granary/internal/proto"
	"testing"
	"time"

	"github.com/granary-store/granary/master/meta"
	"github.com/granary-store/granary/placement"
)

// Membership and liveness combine in one place (repair.Health): a server
// that falls silent is dead whatever its membership, except a retired one,
// and the status string and placement's state come from the same health.
func TestSilentDrainingServerIsDead(t *testing.T) {
	const deadAfter = 30 * time.Second
	now := time.Unix(1000, 0)
	var live liveness
	live.seen("fresh", now.Add(-time.Second), nil)
	live.seen("silent", now.Add(-deadAfter), nil)
	cases := []struct {
		id         proto.NodeID
		membership string
		want       placement.State
	}{
		{"fresh", meta.NodeActive, placement.Alive},
		{"fresh", meta.NodeDraining, placement.Draining},
		{"fresh", meta.NodeDecommissioned, placement.Decommissioned},
		{"silent", meta.NodeActive, placement.Dead},
		{"silent", meta.NodeDraining, placement.Dead},
		{"silent", meta.NodeDecommissioned, placement.Decommissioned},
		{"never", meta.NodeDraining, placement.Dead},
	}
	for _, tc := range cases {
		v := live.view(meta.Node{ID: tc.id, State: tc.membership}, now, deadAfter)
		if v.health != tc.want || v.placement().State != tc.want || v.status().State != tc.want.String() {
			t.Errorf("%s %s server: health %v, placement %v, status %q; want %v",
				tc.id, tc.membership, v.health, v.placement().State, v.status().State, tc.want)
		}
	}
}
