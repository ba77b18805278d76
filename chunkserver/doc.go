// Package chunkserver is the chunk server daemon: it keeps chunks in a
// disk.Store (package chunkserver/disk, which owns the chunk file format,
// the FS seam and the store's sentinel errors such as disk.ErrCorrupt) and
// serves them.
//
// A Server, built by New from a Config (start from DefaultConfig), serves
// the HTTP data plane (dataplane.go: reads, stat, delete; batchread.go:
// many whole chunks in one answer; pipeline.go: pipelined writes),
// registers with the master and heartbeats (heartbeat.go), runs the
// master's delete and repair-copy commands (commands.go; copybatch.go for
// a copy of many chunks in one request), and re-verifies every chunk in the background
// (scrub.go). errors.go maps errors to HTTP statuses and error codes.
package chunkserver
