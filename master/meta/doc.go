// Package meta is the master's replicated state: the Raft state machine
// (FSM, a raft.BatchingFSM) over Badger, the commands with their log
// encoding (two versions, see command.go), the namespace, object versions,
// multipart uploads, the chunk server and member registry, the
// at-most-once record of requests (dedup.go), reads, and snapshots. It
// applies each command in one Badger transaction and hands that
// transaction (a kv.Txn) to the domain packages below it: kv (the record
// layer), access (users, keys, policies) and chunkindex (chunk references,
// deletions, stripes, ids); the pure ones check and shape records
// (validate, precond, bucketconf). Only it and kv import Badger, and it
// imports no net/http: its refusals are the sentinels of metaerr,
// re-exported in errors.go, and a request's recorded outcome stores their
// Code.
package meta
