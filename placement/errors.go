package placement

import "errors"

// Sentinel errors of the placement package. Every error a function here
// returns wraps exactly one of them, with context that says why: the chunk,
// how many servers were needed, and how many were ruled out for which
// reason. Callers branch with errors.Is and never compare error strings.
var (
	// ErrNotEnoughServers reports that fewer servers are in a state to take
	// a replica (alive, not excluded, not already a holder) than the request
	// needs. Waiting for servers to come back, or asking for fewer replicas,
	// is the remedy; freeing space is not.
	ErrNotEnoughServers = errors.New("not enough eligible servers")

	// ErrNoSpace reports that enough servers are alive but too few of them
	// have room: zero capacity, usage above Options.FullThreshold, or no
	// room below the threshold for Request.Size more bytes.
	ErrNoSpace = errors.New("not enough space")

	// ErrDuplicateID reports two servers with the same ID, or a holder
	// listed twice in a holder list.
	ErrDuplicateID = errors.New("duplicate server id")

	// ErrInvalidServer reports a malformed server record: an empty ID, a
	// negative Capacity or Used, or a State outside the defined values.
	ErrInvalidServer = errors.New("invalid server")

	// ErrInvalidRequest reports a request that no cluster could satisfy:
	// Count or keep below one, a negative Size, or an empty holder list.
	ErrInvalidRequest = errors.New("invalid request")

	// ErrInvalidOptions reports Options outside their documented ranges.
	ErrInvalidOptions = errors.New("invalid options")

	// ErrNoSource reports that no holder of a chunk can serve as the source
	// of a copy: every holder is dead, decommissioned or unknown.
	ErrNoSource = errors.New("no usable source replica")
)
