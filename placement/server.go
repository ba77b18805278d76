package placement

import (
	"fmt"
	"math"
)

// State is a chunk server's membership state as the master sees it. The zero
// value is Alive.
type State int

const (
	// Alive servers take new replicas and serve reads.
	Alive State = iota
	// Draining servers are being decommissioned: they serve reads (and are
	// copied from) but take no new replicas.
	Draining
	// Dead servers missed their heartbeats; their replicas do not count.
	Dead
	// Decommissioned servers have been drained and retired.
	Decommissioned
)

var stateNames = [...]string{"alive", "draining", "dead", "decommissioned"}

// String returns "alive", "draining", "dead" or "decommissioned", or
// "State(n)" for a value outside the defined ones.
func (s State) String() string {
	if s.valid() {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

func (s State) valid() bool { return s >= Alive && s <= Decommissioned }

// Server is the placement view of one chunk server. The master converts its
// own records into this type; placement never keeps a reference to the
// caller's slice.
type Server struct {
	// ID identifies the server; unique and non-empty.
	ID string
	// Rack is the failure domain (rack or zone). Servers with an empty Rack
	// share one unnamed rack, so unknown topology spreads nothing.
	Rack string
	// Capacity and Used are in bytes. A server with zero Capacity takes no
	// new data; Used may exceed Capacity (the server is then full).
	Capacity, Used int64
	// State is the membership state; only Alive servers take new data.
	State State
	// Load is the server's busyness in [0, 1] (values outside are clamped,
	// NaN counts as 0). Optional: leave zero when unknown.
	Load float64
}

// validate reports why s cannot be used at all.
func (s *Server) validate() error {
	switch {
	case s.ID == "":
		return fmt.Errorf("placement: server with empty id: %w", ErrInvalidServer)
	case s.Capacity < 0:
		return fmt.Errorf("placement: server %q: negative capacity %d: %w", s.ID, s.Capacity, ErrInvalidServer)
	case s.Used < 0:
		return fmt.Errorf("placement: server %q: negative used %d: %w", s.ID, s.Used, ErrInvalidServer)
	case !s.State.valid():
		return fmt.Errorf("placement: server %q: unknown state %v: %w", s.ID, s.State, ErrInvalidServer)
	}
	return nil
}

// load returns Load clamped to [0, 1].
func (s *Server) load() float64 {
	switch {
	case !(s.Load > 0): // also NaN
		return 0
	case s.Load > 1:
		return 1
	}
	return s.Load
}

// fullness returns Used/Capacity; +Inf for a server without capacity.
func (s *Server) fullness() float64 {
	if s.Capacity <= 0 {
		return math.Inf(1)
	}
	return float64(s.Used) / float64(s.Capacity)
}

// Options tunes Choose. Start from DefaultOptions and change fields; the
// zero value is not valid.
type Options struct {
	// FullThreshold is the fraction of Capacity a server may fill with new
	// data: a server takes a replica of Size bytes only if
	// Used+Size <= FullThreshold*Capacity. In (0, 1]; default 0.95.
	FullThreshold float64
	// LoadBias steers new data away from busy servers: a server's weight is
	// Capacity * (1 - LoadBias*Load). In [0, 1); 0 ignores Load. Default
	// 0.5, so a fully loaded server gets half its capacity share.
	LoadBias float64
}

// DefaultOptions returns the recommended options.
func DefaultOptions() Options {
	return Options{FullThreshold: 0.95, LoadBias: 0.5}
}

// Validate reports whether every field is in its documented range.
func (o Options) Validate() error {
	if !(o.FullThreshold > 0 && o.FullThreshold <= 1) {
		return fmt.Errorf("placement: full threshold %v not in (0, 1]: %w", o.FullThreshold, ErrInvalidOptions)
	}
	if !(o.LoadBias >= 0 && o.LoadBias < 1) {
		return fmt.Errorf("placement: load bias %v not in [0, 1): %w", o.LoadBias, ErrInvalidOptions)
	}
	return nil
}

// Request asks for new replicas of one chunk.
type Request struct {
	// Chunk is the chunk ID; it alone decides the hash order of servers.
	Chunk uint64
	// Count is how many new replicas to place; at least 1.
	Count int
	// Exclude lists servers that must not be chosen (a failed pipeline
	// member, say). Unknown IDs are ignored.
	Exclude []string
	// Holders lists servers that already hold a replica. They are never
	// chosen, and the racks of the Alive ones count as occupied, so new
	// replicas go to other racks first: re-replication widens the spread.
	// The racks of Draining, Dead and Decommissioned holders stay free, as
	// their replicas are going away; so a decommission copy (Holders: the
	// draining server and the others) may land in the draining server's
	// rack, keeping the spread once that replica is trimmed. Unknown IDs are
	// ignored.
	Holders []string
	// Size is the number of bytes each replica adds to its server.
	Size int64
}

func (q *Request) validate() error {
	if q.Count < 1 {
		return fmt.Errorf("placement: choose chunk %d: count %d, want at least 1: %w", q.Chunk, q.Count, ErrInvalidRequest)
	}
	if q.Size < 0 {
		return fmt.Errorf("placement: choose chunk %d: negative size %d: %w", q.Chunk, q.Size, ErrInvalidRequest)
	}
	return nil
}
