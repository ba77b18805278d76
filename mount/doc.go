// Package mount serves a bucket (or a prefix of one) as a FUSE file system
// built on the public client library. It is the only package that imports
// go-fuse.
//
// # Mapping
//
// A file is the object whose key is the mount prefix plus the file's path.
// A directory is a key prefix ending in "/": it exists when a directory
// marker (an empty object whose key ends in "/", which mkdir creates) or any
// key beneath it exists. When a key names both a file and a directory, the
// file wins. Symbolic links are small objects holding the target, with the
// type in their "mode" metadata. Keys under the reserved ".granary-tmp/"
// folder of the mount root are invisible through the mount.
//
// Attributes are user metadata, spelled as rclone spells them so the two
// interoperate: "mtime" (Unix seconds with a nanosecond fraction), "mode"
// (octal st_mode), "uid", "gid". Extended attributes are user metadata
// "xattr-NAME" holding base64 of the value.
//
// # Writes
//
// The state of an open file lives on its node, shared by every handle:
//
//	clean ──write──► memory (≤ Config.MemBuffer, bounded in total)
//	  │                 │ grows past the buffer
//	  │                 ▼
//	  │              stream: client.Writer to a hidden temporary key,
//	  │                 │   committed by one atomic Rename
//	  │                 │ write behind the end, read, truncate, fsync…
//	  ▼                 ▼
//	spool: a sparse local file under Config.CacheDir, bounded by
//	       Config.CacheSize (ENOSPC beyond), committed by one Put
//
// A file written from offset 0 onwards streams into the cluster and needs
// no local space. Everything else (random writes, appends to an existing
// file, truncates) goes through the spool, which first downloads the
// current content. A commit happens on flush (close), fsync and release;
// the object appears atomically (never a partial object) and fsync returns
// once the cluster acknowledged the commit, after its replicas fsynced.
//
// # Consistency
//
// Close-to-open: open looks the object up again, so a file closed by
// another mount or written by an S3 client is seen by the next open. Attributes and
// directory entries are cached by the kernel for Config.AttrTTL and
// Config.EntryTTL, which bound how stale a stat or lookup can be.
//
// # Limits
//
// A directory rename moves every key beneath it in one change on the
// master, atomically; a directory too large for one change (more than
// 10,000 keys or 4 MiB of records) is refused with EXDEV before anything
// moves, so mv falls back to copying. chmod, chown, utimes and xattr changes
// on a closed file change the object's metadata in place (its bytes are
// copied only in a versioned bucket). Hard links are not supported.
package mount
