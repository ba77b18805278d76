// Package meta is the master's replicated state: the Raft state machine
// (FSM, a raft.BatchingFSM) over Badger, the commands with their log
// encoding (two versions, see command.go), the namespace, multipart
// uploads, the chunk server and member registry, users and keys, the
// at-most-once record of requests (dedup.go), reads, and snapshots. It is
// the only package that imports Badger, and it imports no net/http: its
// refusals are its own sentinels (errors.go), and a request's recorded
// outcome stores their Code.
package meta
