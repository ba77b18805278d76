// Package chunkserver stores immutable chunks on local disks and serves them.
//
// Its storage layer is Store: chunks as files under one or more data dirs,
// each with a checksummed header and a CRC32C per 64 KiB block, written to
// a temporary file and renamed into place on Commit, verified on every
// read. The data dir layout and the chunk file format are drawn in
// format.go. Checksum failures wrap ErrCorrupt; all disk access goes
// through the FS interface, so tests can inject faults.
package chunkserver
