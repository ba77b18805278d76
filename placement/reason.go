package placement

import (
	"fmt"
	"strings"
)

// reason says why a server cannot take a new replica of a chunk.
type reason uint8

const (
	reasonOK reason = iota
	reasonHolder
	reasonExcluded
	reasonDead
	reasonDraining
	reasonDecommissioned
	reasonUnknown // holder missing from the server list
	reasonNoCapacity
	reasonFull
	reasonNoRoom
	numReasons
)

var reasonNames = [numReasons]string{
	reasonHolder:         "holder",
	reasonExcluded:       "excluded",
	reasonDead:           "dead",
	reasonDraining:       "draining",
	reasonDecommissioned: "decommissioned",
	reasonUnknown:        "unknown",
	reasonNoCapacity:     "zero capacity",
	reasonFull:           "full",
	reasonNoRoom:         "no room",
}

// spaceReason reports whether r rules a server out for lack of space rather
// than for its state.
func (r reason) spaceReason() bool { return r >= reasonNoCapacity }

// describe renders a tally as "1 dead, 2 full", in reason order.
func describe(tally *[numReasons]int, size int64) string {
	var parts []string
	for r := reasonOK + 1; r < numReasons; r++ {
		if tally[r] == 0 {
			continue
		}
		s := fmt.Sprintf("%d %s", tally[r], reasonNames[r])
		if r == reasonNoRoom {
			s += fmt.Sprintf(" for %d bytes", size)
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "no servers"
	}
	return strings.Join(parts, ", ")
}

// shortage builds the error for a request that found too few eligible
// servers: ErrNoSpace when space was what ruled out the missing ones,
// ErrNotEnoughServers otherwise.
func shortage(req *Request, eligible int, tally *[numReasons]int) error {
	return shortageOf(fmt.Sprintf("choose chunk %d", req.Chunk), "servers", req.Count, req.Size, eligible, tally)
}

// shortageOf is shortage for any decision: what names it, unit names what
// count counts.
func shortageOf(what, unit string, count int, size int64, eligible int, tally *[numReasons]int) error {
	byState := eligible
	for r := reasonOK + 1; r < numReasons; r++ {
		if r.spaceReason() {
			byState += tally[r]
		}
	}
	sentinel := ErrNotEnoughServers
	if byState >= count {
		sentinel = ErrNoSpace
	}
	detail := describe(tally, size)
	if detail == "no servers" && eligible > 0 {
		detail = "none ruled out" // every server there is is eligible
	}
	return fmt.Errorf("placement: %s: need %d %s, %d eligible (%s): %w",
		what, count, unit, eligible, detail, sentinel)
}
