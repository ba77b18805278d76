package mount

import (
	"bytes"
	"context"
	"errors"
	"hash/fnv"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/granary-store/granary/client"
)

// dirStream pages through one directory level with a delimiter listing:
// it holds one page at a time, never the whole directory.
type dirStream struct {
	m      *mountFS
	req    client.ListRequest
	isRoot bool
	buf    []fuse.DirEntry
	done   bool
	err    syscall.Errno
	// seen remembers names already given (pending files, and files that a
	// common prefix of the same name may follow), bounded.
	seen map[string]bool
}

const maxSeen = 10000

func (d *dirStream) HasNext() bool {
	for len(d.buf) == 0 && !d.done && d.err == 0 {
		d.fill()
	}
	return len(d.buf) > 0 || d.err != 0
}

func (d *dirStream) Next() (fuse.DirEntry, syscall.Errno) {
	if len(d.buf) == 0 {
		err := d.err
		d.err = 0
		d.done = true
		return fuse.DirEntry{}, err
	}
	e := d.buf[0]
	d.buf = d.buf[1:]
	return e, 0
}

func (d *dirStream) Close() {}

func (d *dirStream) add(name string, mode uint32) {
	if name == "" || strings.Contains(name, "/") || d.seen[name] || (d.isRoot && name == tmpDir) {
		return
	}
	if len(d.seen) >= maxSeen {
		clear(d.seen)
	}
	d.seen[name] = true
	h := fnv.New64a()
	h.Write([]byte(name))
	d.buf = append(d.buf, fuse.DirEntry{Name: name, Mode: mode, Ino: h.Sum64() | 1})
}

// fill fetches the next page.
func (d *dirStream) fill() {
	ctx, cancel := context.WithTimeout(d.m.life, 2*time.Minute)
	defer cancel()
	res, err := d.m.cl.List(ctx, d.req)
	d.m.stats.lists.Add(1)
	if err != nil {
		d.err = d.m.fail("readdir", d.req.Prefix, err)
		return
	}
	type entry struct {
		name string
		mode uint32
	}
	var es []entry
	for _, p := range res.CommonPrefixes {
		es = append(es, entry{strings.TrimSuffix(p[len(d.req.Prefix):], "/"), syscall.S_IFDIR})
	}
	for _, o := range res.Objects {
		mode := uint32(syscall.S_IFREG)
		if a := attrsFrom(o.Size, o.Modified, o.Meta, "", syscall.S_IFREG, d.m.owner); a.mode&syscall.S_IFMT == syscall.S_IFLNK {
			mode = syscall.S_IFLNK
		}
		es = append(es, entry{o.Key[len(d.req.Prefix):], mode})
	}
	// Files first: a prefix "a/" must not repeat a file "a" given earlier.
	for i := len(res.CommonPrefixes); i < len(es); i++ {
		d.add(es[i].name, es[i].mode)
	}
	for _, e := range es[:len(res.CommonPrefixes)] {
		d.add(e.name, e.mode)
	}
	if !res.IsTruncated || res.NextStartAfter == "" {
		d.done = true
		return
	}
	d.req.StartAfter = res.NextStartAfter
}

func (n *node) Readdir(ctx context.Context) (fs.DirStream, syscall.Errno) {
	n.m.stats.ops.Add(1)
	dk, ok := n.dirKey()
	if !ok {
		return fs.NewListDirStream(nil), 0
	}
	d := &dirStream{
		m: n.m, isRoot: n == n.m.root, seen: map[string]bool{},
		req: client.ListRequest{Bucket: n.m.bucket, Prefix: dk, Delimiter: "/", MaxKeys: n.m.cfg.ListPage},
	}
	// Files created here and not yet committed exist only in the tree.
	for name, in := range n.Children() {
		if ch, ok := in.Operations().(*node); ok && ch.pending.Load() {
			d.add(name, ch.kind)
		}
	}
	return d, 0
}

// newAttrs are the attributes of something this mount creates.
func (n *node) newAttrs(ctx context.Context, kind, mode uint32) attrs {
	o := n.m.caller(ctx)
	return attrs{mode: kind | mode&07777, uid: o.uid, gid: o.gid, mtime: time.Now()}
}

func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.m.stats.ops.Add(1)
	if n.m.cfg.ReadOnly {
		return nil, syscall.EROFS
	}
	a := n.newAttrs(ctx, syscall.S_IFDIR, mode)
	ctx, cancel := n.m.reqCtx()
	defer cancel()
	if en := n.mkdirKey(ctx, name, a); en != 0 {
		return nil, en
	}
	in := n.child(ctx, name, found{kind: syscall.S_IFDIR, attrs: a})
	in.Operations().(*node).attr.fill(&out.Attr)
	return in, 0
}

// mkdirKey stores the marker of directory name under n, unless name is
// there, with renameMu held shared: a rename of a directory above cannot
// move the keys between the choice of the key and the Put (the marker
// would bring the old directory back).
func (n *node) mkdirKey(ctx context.Context, name string, a attrs) syscall.Errno {
	n.m.renameMu.RLock()
	defer n.m.renameMu.RUnlock()
	key, en := n.childKey(name)
	if en != 0 {
		return en
	}
	if f, err := n.m.probe(ctx, key); err != nil {
		return n.m.fail("mkdir", key, err)
	} else if f.kind != 0 {
		return syscall.EEXIST
	}
	if _, err := n.m.cl.Put(ctx, n.m.bucket, key+"/", bytes.NewReader(nil), 0, &client.PutOptions{Meta: a.toMeta()}); err != nil {
		return n.m.fail("mkdir", key, err)
	}
	return 0
}

func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	n.m.stats.ops.Add(1)
	if n.m.cfg.ReadOnly {
		return syscall.EROFS
	}
	ctx, cancel := n.m.reqCtx()
	defer cancel()
	if ch := n.childNode(name); ch != nil && ch.kind != syscall.S_IFDIR {
		return syscall.ENOTDIR
	} else if ch != nil && ch.hasPending() {
		return syscall.ENOTEMPTY
	}
	n.m.renameMu.RLock() // see mkdirKey
	defer n.m.renameMu.RUnlock()
	key, en := n.childKey(name)
	if en != 0 {
		return en
	}
	res, err := n.m.cl.List(ctx, client.ListRequest{Bucket: n.m.bucket, Prefix: key + "/", MaxKeys: 2})
	if err != nil {
		return n.m.fail("rmdir", key, err)
	}
	marker := false
	for _, o := range res.Objects {
		if o.Key != key+"/" {
			return syscall.ENOTEMPTY
		}
		marker = true
	}
	if len(res.CommonPrefixes) > 0 {
		return syscall.ENOTEMPTY
	}
	if !marker {
		if _, err := n.m.cl.Stat(ctx, n.m.bucket, key); err == nil {
			return syscall.ENOTDIR
		}
		return syscall.ENOENT
	}
	if err := n.m.cl.Delete(ctx, n.m.bucket, key+"/"); err != nil && !errors.Is(err, client.ErrNoSuchKey) {
		return n.m.fail("rmdir", key, err)
	}
	return 0
}

// hasPending reports whether directory n holds files created through this
// mount and not committed yet.
func (n *node) hasPending() bool {
	for _, in := range n.Children() {
		if ch, ok := in.Operations().(*node); ok && ch.pending.Load() {
			return true
		}
	}
	return false
}

func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	n.m.stats.ops.Add(1)
	if n.m.cfg.ReadOnly {
		return syscall.EROFS
	}
	if _, en := n.childKey(name); en != 0 {
		return en
	}
	ctx, cancel := n.m.reqCtx()
	defer cancel()
	fresh := false
	if ch := n.childNode(name); ch != nil {
		if ch.kind == syscall.S_IFDIR {
			return syscall.EISDIR
		}
		fresh = ch.detach(ctx)
	}
	n.m.renameMu.RLock() // after detach, which takes the child's mu; see mkdirKey
	defer n.m.renameMu.RUnlock()
	key, en := n.childKey(name)
	if en != 0 {
		return en
	}
	err := n.m.cl.Delete(ctx, n.m.bucket, key)
	if errors.Is(err, client.ErrNoSuchKey) && fresh {
		err = nil
	}
	if err != nil {
		return n.m.fail("unlink", key, err)
	}
	return 0
}

func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.m.stats.ops.Add(1)
	if n.m.cfg.ReadOnly {
		return nil, syscall.EROFS
	}
	a := n.newAttrs(ctx, syscall.S_IFLNK, 0o777)
	ctx, cancel := n.m.reqCtx()
	defer cancel()
	a.size = int64(len(target))
	if en := n.symlinkKey(ctx, name, target, a); en != 0 {
		return nil, en
	}
	in := n.child(ctx, name, found{kind: syscall.S_IFLNK, attrs: a})
	a.fill(&out.Attr)
	return in, 0
}

// symlinkKey stores link name under n, with renameMu held shared (see
// mkdirKey).
func (n *node) symlinkKey(ctx context.Context, name, target string, a attrs) syscall.Errno {
	n.m.renameMu.RLock()
	defer n.m.renameMu.RUnlock()
	key, en := n.childKey(name)
	if en != 0 {
		return en
	}
	_, err := n.m.cl.Put(ctx, n.m.bucket, key, strings.NewReader(target), a.size,
		&client.PutOptions{Meta: a.toMeta(), IfVersion: client.MustNotExist})
	if errors.Is(err, client.ErrPrecondition) {
		return syscall.EEXIST
	}
	if err != nil {
		return n.m.fail("symlink", key, err)
	}
	return 0
}

func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	n.m.stats.ops.Add(1)
	key, ok := n.fileKey()
	if !ok {
		return nil, syscall.ENOENT
	}
	ctx, cancel := n.m.reqCtx()
	defer cancel()
	info, err := n.m.cl.Stat(ctx, n.m.bucket, key)
	if err != nil {
		return nil, n.m.fail("readlink", key, err)
	}
	if info.Extents == nil {
		return info.Inline, 0
	}
	o, err := n.m.cl.Open(ctx, n.m.bucket, key)
	if err != nil {
		return nil, n.m.fail("readlink", key, err)
	}
	buf := make([]byte, min(o.Size(), 1<<16))
	if _, err := o.ReadAt(buf, 0); err != nil {
		return nil, n.m.fail("readlink", key, err)
	}
	return buf, 0
}
