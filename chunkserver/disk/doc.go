// Package disk is the chunk store of a chunk server: immutable chunks kept
// as files under one or more data dirs, typically one per disk.
//
// Store writes each chunk to a temporary file, with a checksummed header
// and a CRC32C per 64 KiB block, and renames it into place on Commit; it
// verifies every block it reads. The data dir layout and the chunk file
// format are drawn in format.go; the start-up scan, which removes
// temporaries and quarantines damaged files, is in scan.go. Checksum
// failures wrap ErrCorrupt, which repair logic branches on; a full disk is
// ErrNoSpace; the other sentinels are in errors.go. All disk access goes
// through the FS interface (fs.go), so tests can inject faults.
//
// The package knows nothing of the network, the master or the cluster: the
// chunk server (package chunkserver) owns a Store and serves it.
package disk
