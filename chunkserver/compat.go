package chunkserver

import "github.com/granary-store/granary/chunkserver/disk"

// Names from before the chunk store moved to package chunkserver/disk,
// still used by tests in master/, client/ and gateway/; they go once those
// move over. New code uses the names they point to.

// ServerConfig is the old name of Config.
//
// Deprecated: use Config.
type ServerConfig = Config

// FS is the file system seam of the chunk store.
//
// Deprecated: use disk.FS.
type FS = disk.FS

// File is an open chunk store file.
//
// Deprecated: use disk.File.
type File = disk.File

// OSFS returns the file system of the operating system.
//
// Deprecated: use disk.OSFS.
func OSFS() FS { return disk.OSFS() }
