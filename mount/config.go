package mount

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/granary-store/granary/client"
)

// Config configures a mount.
type Config struct {
	// Client reaches the cluster; the mount does not close it.
	Client *client.Client
	// Bucket is the bucket served.
	Bucket string
	// Prefix, when set, is the key prefix served as the root ("photos/2024"
	// or "photos/2024/"; a trailing "/" is added).
	Prefix string
	// ReadOnly refuses every change with EROFS.
	ReadOnly bool
	// CacheDir holds the spool files of open files being changed.
	CacheDir string
	// CacheSize is the most local disk the spool uses, in bytes; a write
	// that would need more fails with ENOSPC.
	CacheSize int64
	// MemBuffer is how much of a new file is kept in memory before it
	// starts streaming (small files then cost one Put), and MemTotal bounds
	// the sum over all open files.
	MemBuffer, MemTotal int64
	// AttrTTL and EntryTTL are how long the kernel caches attributes and
	// names (and failed lookups).
	AttrTTL, EntryTTL time.Duration
	// AllowOther lets other users than the mounting one use the mount.
	AllowOther bool
	// ListPage is the page size of directory listings.
	ListPage int
	// MaxInodes caps the inode table: beyond it the least recently used
	// inodes without open files are dropped from the kernel's cache.
	MaxInodes int
	// ReadAhead is the size of one read-ahead block, ReadAheadBlocks how
	// many a sequential reader keeps in flight.
	ReadAhead       int64
	ReadAheadBlocks int
	// Logger receives the mount's logs; nil discards them.
	Logger *slog.Logger
	// Debug logs every FUSE request (very verbose).
	Debug bool
}

// DefaultConfig returns a configuration with every tunable set; the caller
// fills Client, Bucket and CacheDir.
func DefaultConfig() Config {
	return Config{
		CacheSize:       10 << 30,
		MemBuffer:       1 << 20,
		MemTotal:        64 << 20,
		AttrTTL:         time.Second,
		EntryTTL:        time.Second,
		ListPage:        1000,
		MaxInodes:       100000,
		ReadAhead:       4 << 20,
		ReadAheadBlocks: 4,
	}
}

// Validate reports the first problem of cfg.
func (c Config) Validate() error {
	switch {
	case c.Client == nil:
		return errors.New("mount: no client")
	case c.Bucket == "" || strings.Contains(c.Bucket, "/"):
		return fmt.Errorf("mount: bad bucket name %q", c.Bucket)
	case c.CacheDir == "" && !c.ReadOnly:
		return errors.New("mount: no cache directory")
	case c.CacheSize < 0 || c.MemBuffer < 0 || c.MemTotal < 0:
		return errors.New("mount: negative cache or buffer size")
	case c.AttrTTL < 0 || c.EntryTTL < 0:
		return errors.New("mount: negative TTL")
	case c.ListPage < 1 || c.MaxInodes < 16:
		return errors.New("mount: ListPage must be positive, MaxInodes at least 16")
	case c.ReadAhead < 64<<10 || c.ReadAheadBlocks < 1:
		return errors.New("mount: ReadAhead must be at least 64 KiB and ReadAheadBlocks positive")
	}
	return nil
}

// prefix returns the normalized key prefix of the root ("" or ending in "/").
func (c Config) prefix() string {
	p := strings.Trim(c.Prefix, "/")
	if p == "" {
		return ""
	}
	return p + "/"
}
