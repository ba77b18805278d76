// Package master is the metadata master: one member of a Raft group
// (hashicorp/raft) whose replicated state is master/meta, and, while it
// leads, the cluster's soft state and self-healing. Server wires the parts
// together and owns their lifecycle (New, Run, Close); each part owns its
// state and lock:
//
//	server.go     Server, New, Run, Close and the exported accessors
//	raft.go       the Raft member: log and snapshot stores, proposals
//	              (apply, applyRequest), linearizable reads (readBarrier)
//	leader.go     leadership changes: readiness, stepping down while failed
//	members.go    the master group: join, add, remove, health, status
//	stream.go     Raft's authenticated TCP stream layer (SetBlocked)
//	liveness.go   chunk servers as seen now: nodeView joins membership
//	              (registry) and liveness (heartbeats), converted to status
//	              strings and to placement input in one place each
//	replicas.go   where replicas live, from chunk-server reports
//	healer.go     heartbeats, repair, GC and balance rounds (master/repair
//	balance.go    plans them), commands queued for the servers
//	api*.go       HTTP handlers of the cluster, chunk servers, chunk
//	              allocation and gateways: decode, one call, encode; the
//	              router, which mounts master/metaapi's handlers too
//	errors.go     sentinels (the state's and master/wire's, re-exported)
//	transport.go  the HTTP calls to peers: join, probe, bearer check,
//	              forwarding to the leader
//	metrics.go    the Prometheus scrape
//	api_gateways.go  the S3 gateways' traffic reports (soft state, expiring)
//
// Parts with a seam of their own are packages, wired in server.go and
// api.go with what they need of the master (proposals, the state,
// leadership, the allocator) as funcs and small interfaces:
//
//	master/metaapi    the handlers of buckets, objects, versions, uploads,
//	                  users, keys, access policies and ACLs
//	master/wire       request decoding, answer encoding, the master's
//	                  sentinels and the one mapping from errors to codes
//	                  and HTTP statuses
//	master/alloc      chunk ids, write placement, read locations
//	                  (Allocator)
//	master/convert    conversion of cold objects to stripes, lifecycle
//	                  transitions (Converter)
//	master/lifecycle  lifecycle expirations and aborts (Worker)
//	master/usage      the paced count of each bucket's contents (Counter)
//
// Only the leader serves writes and consistent reads; a follower forwards
// them. The soft state (liveness, replicas, healer, allocator ranges) is
// never replicated: a new leader rebuilds it from heartbeats (and the
// gateways' reports, and a new count of the buckets).
package master
