// Package repair is the master's pure repair policy: it classifies chunk
// servers and replicas, and plans re-replication, trimming, garbage
// deletion and balancing moves. It does no I/O, reads no clock (the time is
// an input) and iterates in sorted order, so the same input always gives
// the same plan; the master reads its state, calls MakePlan and sends the
// commands.
//
// One classification serves every caller: Health combines a server's
// registry membership with its liveness, and Classify splits a chunk's
// replicas by what they are good for. The planner (MakePlan, Drained) and
// the status counters (Count) both use them, so the status cannot report a
// chunk as healthy while the planner copies it.
//
// The package imports the standard library, placement and internal/proto
// only.
package repair
