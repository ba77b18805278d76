package mount

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// User metadata keys, as rclone names them (its S3 backend keeps the
// modification time in "mtime", its metadata system mode, uid and gid).
const (
	metaMtime = "mtime"
	metaMode  = "mode"
	metaUID   = "uid"
	metaGID   = "gid"
	// metaXattr prefixes extended attributes; the value is base64.
	metaXattr = "xattr-"
)

// attrs are a file's attributes as the mount keeps them.
type attrs struct {
	size  int64
	mode  uint32 // type and permission bits
	uid   uint32
	gid   uint32
	mtime time.Time
	meta  map[string]string // user metadata, including the keys above
	etag  string
}

// formatMtime writes t as rclone does: Unix seconds with nine decimals.
func formatMtime(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}

// parseMtime reads "seconds[.fraction]" or RFC 3339.
func parseMtime(s string) (time.Time, bool) {
	if sec, frac, ok := strings.Cut(s, "."); ok || sec != "" {
		n, err := strconv.ParseInt(sec, 10, 64)
		if err == nil {
			var ns int64
			if ok {
				frac = (frac + "000000000")[:9]
				if ns, err = strconv.ParseInt(frac, 10, 64); err != nil {
					return time.Time{}, false
				}
			}
			return time.Unix(n, ns), true
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// attrsFrom reads attributes from an object's size, time and metadata;
// kind is the type assumed when the metadata has no mode.
func attrsFrom(size int64, modified time.Time, meta map[string]string, etag string, kind uint32, owner owner) attrs {
	a := attrs{size: size, mtime: modified, meta: meta, etag: etag, uid: owner.uid, gid: owner.gid}
	a.mode = kind | defaultPerm(kind)
	if v, ok := meta[metaMode]; ok {
		if m, err := strconv.ParseUint(v, 8, 32); err == nil {
			if m&syscall.S_IFMT == 0 {
				m |= uint64(kind)
			}
			if t := uint32(m) & syscall.S_IFMT; t == syscall.S_IFREG || t == syscall.S_IFLNK || t == syscall.S_IFDIR {
				a.mode = uint32(m)
			}
		}
	}
	if v, ok := meta[metaUID]; ok {
		if n, err := strconv.ParseUint(v, 10, 32); err == nil {
			a.uid = uint32(n)
		}
	}
	if v, ok := meta[metaGID]; ok {
		if n, err := strconv.ParseUint(v, 10, 32); err == nil {
			a.gid = uint32(n)
		}
	}
	if v, ok := meta[metaMtime]; ok {
		if t, ok := parseMtime(v); ok {
			a.mtime = t
		}
	}
	// Keep the map only for other keys (toMeta writes ours back): most
	// inodes then hold no map at all.
	extra := false
	for k := range meta {
		if k != metaMode && k != metaUID && k != metaGID && k != metaMtime {
			extra = true
			break
		}
	}
	if !extra {
		a.meta = nil
	}
	return a
}

func defaultPerm(kind uint32) uint32 {
	switch kind {
	case syscall.S_IFDIR:
		return 0o755
	case syscall.S_IFLNK:
		return 0o777
	}
	return 0o644
}

// owner is who owns files without uid and gid metadata.
type owner struct{ uid, gid uint32 }

// toMeta writes the attributes back into user metadata (a copy).
func (a attrs) toMeta() map[string]string {
	m := maps.Clone(a.meta)
	if m == nil {
		m = map[string]string{}
	}
	m[metaMode] = strconv.FormatUint(uint64(a.mode), 8)
	m[metaUID] = strconv.FormatUint(uint64(a.uid), 10)
	m[metaGID] = strconv.FormatUint(uint64(a.gid), 10)
	m[metaMtime] = formatMtime(a.mtime)
	return m
}

// fill writes the attributes into a FUSE attribute record.
func (a attrs) fill(out *fuse.Attr) {
	out.Mode = a.mode
	out.Size = uint64(a.size)
	out.Blocks = (uint64(a.size) + 511) / 512
	out.Blksize = 1 << 20
	out.Uid, out.Gid = a.uid, a.gid
	out.Nlink = 1
	sec, nsec := uint64(a.mtime.Unix()), uint32(a.mtime.Nanosecond())
	if a.mtime.IsZero() {
		sec, nsec = 0, 0
	}
	out.Mtime, out.Mtimensec = sec, nsec
	out.Ctime, out.Ctimensec = sec, nsec
	out.Atime, out.Atimensec = sec, nsec
}
