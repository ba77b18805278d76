// Package chaos is Granary's fault-test harness: a workload that writes,
// overwrites, reads, lists and deletes through the S3 gateway while faults
// are injected, a recorded history of every operation, and the checks run
// on it afterwards (per-key linearizability with porcupine, durability of
// acknowledged writes and deletes, recovery to full health, and how long
// clients saw failures around each fault).
//
// The harness drives any Target: a compose cluster of containers (faults
// through the Docker CLI) or an in-process cluster (faults through test
// hooks). Faults are chosen from a seed, so a failing run can be replayed.
package chaos

import (
	"sync"
	"time"
)

// Kind is the kind of a recorded operation.
type Kind uint8

// The operations of the register model.
const (
	KindPut Kind = iota + 1
	KindGet
	KindDelete
	KindList // one observation of one key by a listing
)

func (k Kind) String() string {
	switch k {
	case KindPut:
		return "put"
	case KindGet:
		return "get"
	case KindDelete:
		return "delete"
	case KindList:
		return "list"
	}
	return "?"
}

// Op is one completed client operation on one key. Value identifies
// object contents by their MD5 (hex, what S3 reports as the ETag of a
// single-part upload): what a put wrote, or what a get or list observed,
// "" meaning the key was absent.
type Op struct {
	Client int
	Kind   Kind
	Key    string
	Value  string
	// Start and End are offsets from the history's epoch, taken before the
	// request was sent and after its answer was read.
	Start, End time.Duration
	// Err is empty for an acknowledged operation. A failed or timed-out
	// write may still have been applied; a failed read observed nothing.
	Err string
}

// OK reports whether the operation was acknowledged.
func (o Op) OK() bool { return o.Err == "" }

// History records operations from many goroutines.
type History struct {
	epoch time.Time
	mu    sync.Mutex
	ops   []Op
}

// NewHistory starts a history whose clock starts now.
func NewHistory() *History { return &History{epoch: time.Now()} }

// Now is the history clock (monotonic).
func (h *History) Now() time.Duration { return time.Since(h.epoch) }

// Add records completed operations.
func (h *History) Add(ops ...Op) {
	h.mu.Lock()
	h.ops = append(h.ops, ops...)
	h.mu.Unlock()
}

// Ops returns a copy of everything recorded so far.
func (h *History) Ops() []Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Op(nil), h.ops...)
}
