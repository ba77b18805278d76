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
// Erasure-coded stripes (Input.Stripes) are planned as groups of K+M
// shard chunks: ClassifyStripe counts a stripe's healthy shards (good, on
// distinct alive servers), readable ones and corrupt ones, and Condition
// calls it full, degraded (at least K readable) or missing. MakePlan
// repairs stripes least margin first, counting repairs in flight, the
// stripes without a spare shard before any replicated copy: a lost or
// corrupt shard is rebuilt by a Reconstruct (K sources, one target), a
// shard readable only on a draining server moves by an ordinary copy. No
// target ever holds a shard of the same stripe, and rebuilds share the
// copies' per-server and per-round limits. CountStripes gives the status
// counters from the same classification.
//
// Copies of small chunks from one source to one target leave a round in
// batches (Limits.Batch, Limits.BatchBytes: a copy command with More),
// while the in-flight record stays per chunk.
//
// The package imports the standard library, placement and internal/proto
// only.
package repair
