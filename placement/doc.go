// Package placement decides where chunk replicas live: targets for new
// chunks (Choose), the source of a repair copy (ChooseSource), the replicas
// to drop from an over-replicated chunk (ChooseTrim), and moves that even
// out disk usage (PlanBalance).
//
// It is pure: no I/O, no clocks, no goroutines, no randomness, and no
// imports outside the standard library. The master converts its own server
// records into Server values, asks, and acts on the answer. Every function
// is deterministic: the same servers and request give the same answer in
// every process, on every platform, whatever the order of the input slices
// (servers are sorted by ID, maps are never iterated into a result, and
// ties break by ID).
//
// # Choosing servers
//
// Placement uses weighted rendezvous hashing (highest random weight). For a
// chunk c and a server s with weight w (its Capacity, scaled by
// 1 - LoadBias*Load), a fixed 64-bit hash of (c, s.ID) gives u in (0, 1)
// and the key
//
//	key(c, s) = -ln(u) / w
//
// which is an exponential variate with rate w. The server with the smallest
// key is the chunk's first choice with probability exactly w / sum(w), and
// the order of keys is weighted sampling without replacement. Adding a
// server can only move chunks to it; removing one moves only its own chunks.
//
// Rack spread is water-filling over that order. At level 1 every rack
// without a replica may take one, at level 2 every rack with fewer than
// two, and so on; within a level, racks go in the order of their best
// remaining key. Replicas therefore land on distinct racks whenever enough
// racks have an eligible server, and otherwise share racks as evenly as the
// racks allow. The first choice is always the best key overall, and the
// answer for Count k is a prefix of the answer for Count k+1, so a retried
// write pipeline can ask for one more target and keep the others.
//
// A server is eligible for a new replica when it is Alive, not excluded,
// not already a holder, has Capacity > 0, and Used+Size is at most
// FullThreshold*Capacity. Request.Holders are the existing replicas of a
// chunk being repaired: the racks of the Alive ones count as occupied, so
// the new replica goes to a rack without one. Each decision is O(N) for N servers; a Ring keeps the
// validated, sorted server table so the master pays for the sort once per
// cluster change rather than once per chunk.
//
// # Why rendezvous rather than a virtual-node ring
//
// A consistent-hash ring with capacity-weighted virtual nodes gives each
// server the sum of its arcs, whose spread shrinks only as 1/sqrt(vnodes).
// TestRendezvousVersusVNodeRing measures both on the same two 20-server
// clusters (capacities 1-16 TiB) and 10^5 chunks:
//
//	                        largest share error   total variation
//	rendezvous              3.0-3.3%              0.57%  (sampling noise only)
//	ring, 100 vnodes/avg    15-31%                3.7-4.4%
//	ring, 1000 vnodes/avg   3.3-10.9%             1.05-1.09% (20,000 points)
//
// Rendezvous meets "within a few percent of capacity" with no tuning knob
// and no per-server state beyond one hash; the ring needs thousands of
// points per server and still drifts. Rendezvous is also exactly minimal
// on membership changes and, since every server is ranked for every chunk,
// spreads a failed server's repairs over the whole cluster rather than its
// ring neighbours. Its cost is O(N) per decision instead of O(log N); the
// benchmarks on a shared 2-core machine give about 2,000,000 decisions/s
// with 10 servers, 300,000 with 100 and 60,000 with 1,000 on a Ring
// (BenchmarkRingChoose): far above the chunk allocation rate of any
// cluster of that size, at 64 MiB per chunk.
//
// # Measured properties
//
// The tests assert, and log, on seeded random clusters of 5-30 servers with
// mixed capacities on 1-5 racks and 10^5 chunk IDs each:
//
//   - Share: every server's share of first choices matches its weight
//     within 2.3 standard deviations of sampling noise; the largest
//     relative error among servers expecting at least 2000 chunks is 4.8%,
//     total variation at most 0.62% (TestShareFollowsCapacity, with and
//     without load bias; it asserts 4.5 deviations, 6% and 2%).
//     With three racks of equal capacity, replica shares of 3-replica
//     chunks match capacity within 0.9% (TestReplicaShareRackBalanced).
//   - Movement: when a server joins or leaves, the replicas that change
//     place are exactly those the joining server receives or the leaving
//     one held (1.000 times the floor, for 1 and 3 replicas), and the
//     first choices that move are 0.95-1.07 times the server's capacity
//     share; with equal capacities that is 1.02-1.03 times 1/N
//     (TestMovementOnJoinAndLeave). With rack constraints a server alone in
//     its rack can take more than its capacity share of replicas; the
//     movement is still exactly what it takes.
//   - Repair: the replicas of a failed server in a 30-server, 5-rack
//     cluster are re-created on all 29 others (TestRepairFansOut).
//   - Rules: on 12,000 random requests against random clusters with dead,
//     draining, decommissioned, full and zero-capacity servers, every
//     answer is checked against the rules and a slow reference version,
//     every error against the cluster, and shuffled input must give the
//     same answer (TestConstraintsHold); FuzzChoose does the same for
//     arbitrary input.
//
// # Erasure-coded stripes
//
// ChooseStripe places the K+M shards of a new stripe on K+M distinct
// servers with Choose's eligibility and water-filling, so the fullest rack
// holds as few shards as the eligible servers allow: at most
// ceil((K+M)/R) with R racks that each have enough servers, one per rack
// when R >= K+M. ChooseShards finds homes for shards being rebuilt or
// moved off a draining server: never a server that holds any shard of the
// stripe, and first the racks with the fewest live shards of it (a
// draining, dead or decommissioned holder's rack counts as free). Both
// errors name the servers needed and the eligible ones, with the reasons
// the others were ruled out.
//
// # Repair, trim and balance
//
// ChooseSource prefers an Alive holder to a Draining one, then the least
// loaded, then a hash of chunk and ID, so equally loaded holders share the
// repair reads. ChooseTrim removes dead, decommissioned and unknown holders
// first, then from the rack with the most holders, then draining before
// alive, then the fuller server. PlanBalance moves chunks from over-used to
// under-used servers until usage ratios are within a threshold of the
// mean, never lowering a chunk's rack spread; every move strictly lowers
// the capacity-weighted variance of usage ratios, so plans converge.
//
// # Errors
//
// Every error wraps one sentinel from errors.go with the reason, for
// example
//
//	placement: choose chunk 9: need 3 servers, 2 eligible (1 dead, 1 full): not enough space
//
// ErrNotEnoughServers means too few servers are alive and allowed;
// ErrNoSpace means enough are alive but too few have room. Bad input
// (duplicate IDs, negative sizes, unknown states, Count < 1) is an error,
// never a panic.
//
// # Determinism and hashes
//
// Server IDs hash with FNV-1a finished by the splitmix64 mixer; a chunk
// and a server combine through the same mixer; -ln(u) is computed by
// negLog from single IEEE operations that the compiler may not fuse, since
// math.Log is assembly on amd64 and Go elsewhere and may differ in the last
// bit. These functions are part of the storage format: changing them
// re-places every chunk, which TestHashStable pins.
package placement
