// Package disk is the chunk store of a chunk server: immutable chunks kept
// under one or more data dirs, typically one per disk.
//
// Store writes each chunk larger than Config.PackMax to a temporary file,
// with a checksummed header and a CRC32C per 64 KiB block, and renames it
// into place on Commit. Smaller chunks are packed as records, with the
// same checksums, into append-only volume files, one open per data dir,
// and many records share one fsync (group commit); deletes append
// tombstones, and a compaction goroutine rewrites mostly dead volumes.
// The store verifies every block it reads. The data dir layout, the chunk
// file format and the volume format are drawn, and encoded, in package
// format (chunkserver/disk/format); the start-up scans, which remove
// temporaries, quarantine damaged files and cut torn volume tails, are in
// scan.go and scanvol.go. Checksum failures wrap ErrCorrupt (the same
// value as format.ErrCorrupt), which repair logic branches on; a full disk
// is ErrNoSpace; the other sentinels are in errors.go. All disk access goes
// through the FS interface (fs.go), so tests can inject faults.
//
// The package knows nothing of the network, the master or the cluster: the
// chunk server (package chunkserver) owns a Store and serves it.
package disk
