package master

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/wire"
)

// defaultGatewayExpiry is how long the leader keeps a silent gateway when
// the config leaves Config.GatewayExpiry zero.
const defaultGatewayExpiry = 30 * time.Second

// gateways is the leader's soft state of the S3 gateways: each one's last
// report (cumulative traffic counters) and when it came. Nothing is
// proposed: a new leader learns the gateways from their next reports,
// every few seconds. A gateway silent for longer than expiry is
// forgotten. Safe for concurrent use.
type gateways struct {
	expiry time.Duration

	mu sync.Mutex
	m  map[string]gatewayEntry // by gateway id
}

type gatewayEntry struct {
	report proto.GatewayReport
	at     time.Time
}

func newGateways(expiry time.Duration) *gateways {
	if expiry <= 0 {
		expiry = defaultGatewayExpiry
	}
	return &gateways{expiry: expiry, m: map[string]gatewayEntry{}}
}

// report records a gateway's report received at now. A report from a
// gateway not yet known is refused when MaxGateways are already known.
func (g *gateways) report(r proto.GatewayReport, now time.Time) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expire(now)
	if _, ok := g.m[r.ID]; !ok && len(g.m) >= proto.MaxGateways {
		return fmt.Errorf("gateway %s: %d gateways reported already: %w", r.ID, len(g.m), ErrTooLarge)
	}
	g.m[r.ID] = gatewayEntry{report: r, at: now}
	return nil
}

// expire drops the gateways silent since before now-expiry. Called with
// mu held.
func (g *gateways) expire(now time.Time) {
	for id, e := range g.m {
		if now.Sub(e.at) > g.expiry {
			delete(g.m, id)
		}
	}
}

// list returns the gateways heard from within the expiry, by address and
// id, with the age of their last report at now.
func (g *gateways) list(now time.Time) []proto.Gateway {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.expire(now)
	out := make([]proto.Gateway, 0, len(g.m))
	for _, e := range g.m {
		out = append(out, proto.Gateway{GatewayReport: e.report, LastReportAgeMs: now.Sub(e.at).Milliseconds()})
	}
	slices.SortFunc(out, func(a, b proto.Gateway) int {
		return cmp.Or(strings.Compare(a.Address, b.Address), strings.Compare(a.ID, b.ID))
	})
	return out
}

// handleGatewayReport takes a gateway's report (on the leader).
func (a *api) handleGatewayReport(w http.ResponseWriter, r *http.Request) {
	var rep proto.GatewayReport
	if err := wire.Decode(r, &rep); err != nil {
		wire.WriteError(w, err)
		return
	}
	if err := rep.Validate(); err != nil {
		wire.WriteError(w, fmt.Errorf("%w: %w", ErrInvalid, err))
		return
	}
	if err := a.m.gateways.report(rep, a.now()); err != nil {
		wire.WriteError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleListGateways lists the gateways the leader has heard from.
func (a *api) handleListGateways(w http.ResponseWriter, r *http.Request) {
	if wire.Stale(r) {
		wire.WriteError(w, wire.CodeError(proto.CodeBadRequest, "gateways are only known to the leader"))
		return
	}
	wire.WriteJSON(w, http.StatusOK, a.m.gateways.list(a.now()))
}
