package mount

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/granary-store/granary/client"
)

// node is one file, directory or symbolic link. Its type never changes;
// mu guards attr, open and unlinked.
type node struct {
	fs.Inode
	m    *mountFS
	kind uint32 // S_IFREG, S_IFDIR or S_IFLNK

	mu       sync.Mutex
	attr     attrs
	open     *openFile // shared state of the open handles, nil when none
	unlinked bool
	lru      lruEntry    // guarded by the LRU's lock
	counted  atomic.Bool // counted in stats.inodes
	// pending: created here and not committed yet, so only the tree knows
	// it (readable without mu, which a long commit may hold)
	pending atomic.Bool
	// moved is where the last rename put n, until the tree says so too.
	moved atomic.Pointer[move]
}

// move is a rename of a node the master has made and the tree may not
// show yet: go-fuse moves the node in its tree only after Rename returns,
// and a commit running in between (a close racing the rename) must not
// use the old name.
type move struct {
	fromParent, toParent *fs.Inode
	fromName, toName     string
}

// setMoved records that n moved from fromName in dir to toName in toDir.
func (n *node) setMoved(dir *node, fromName string, toDir *node, toName string) {
	n.moved.Store(&move{fromParent: &dir.Inode, fromName: fromName, toParent: &toDir.Inode, toName: toName})
}

// parent returns n's name and parent: the tree's, or where a rename the
// tree does not show yet put it.
func (n *node) parent() (string, *fs.Inode) {
	name, parent := n.Parent()
	if mv := n.moved.Load(); mv != nil {
		if parent == mv.fromParent && name == mv.fromName {
			return mv.toName, mv.toParent
		}
		n.moved.CompareAndSwap(mv, nil) // the tree caught up
	}
	return name, parent
}

var (
	_ fs.NodeLookuper    = (*node)(nil)
	_ fs.NodeGetattrer   = (*node)(nil)
	_ fs.NodeSetattrer   = (*node)(nil)
	_ fs.NodeReaddirer   = (*node)(nil)
	_ fs.NodeMkdirer     = (*node)(nil)
	_ fs.NodeRmdirer     = (*node)(nil)
	_ fs.NodeUnlinker    = (*node)(nil)
	_ fs.NodeRenamer     = (*node)(nil)
	_ fs.NodeCreater     = (*node)(nil)
	_ fs.NodeOpener      = (*node)(nil)
	_ fs.NodeSymlinker   = (*node)(nil)
	_ fs.NodeReadlinker  = (*node)(nil)
	_ fs.NodeStatfser    = (*node)(nil)
	_ fs.NodeGetxattrer  = (*node)(nil)
	_ fs.NodeSetxattrer  = (*node)(nil)
	_ fs.NodeListxattrer = (*node)(nil)
	_ fs.NodeOnForgetter = (*node)(nil)
)

// rel returns n's path from the mount root; false when n is no longer in
// the tree (unlinked, or under a removed directory).
func (m *mountFS) rel(n *fs.Inode) (string, bool) {
	var segs []string
	for cur := n; cur != &m.root.Inode; {
		name, parent := cur.Parent()
		if nd, ok := cur.Operations().(*node); ok {
			name, parent = nd.parent()
		}
		if parent == nil {
			return "", false
		}
		segs = append(segs, name)
		cur = parent
	}
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	return strings.Join(segs, "/"), true
}

// fileKey is the object key of file n.
func (n *node) fileKey() (string, bool) {
	p, ok := n.m.rel(&n.Inode)
	return n.m.prefix + p, ok && p != ""
}

// dirKey is the key prefix of directory n ("" or ending in "/").
func (n *node) dirKey() (string, bool) {
	p, ok := n.m.rel(&n.Inode)
	if !ok {
		return "", false
	}
	if p == "" {
		return n.m.prefix, true
	}
	return n.m.prefix + p + "/", true
}

// childKey is the key of the child name of directory n.
func (n *node) childKey(name string) (string, syscall.Errno) {
	dk, ok := n.dirKey()
	if !ok {
		return "", syscall.ENOENT
	}
	if n == n.m.root && name == tmpDir {
		return "", syscall.EPERM
	}
	return dk + name, 0
}

// childNode returns the child name of n in the tree, or nil.
func (n *node) childNode(name string) *node {
	in := n.GetChild(name)
	if in == nil {
		return nil
	}
	ch, _ := in.Operations().(*node)
	return ch
}

// reqCtx bounds one request's calls to the cluster. It does not derive
// from the request's context on purpose: the kernel interrupts a request
// whenever its caller gets a signal (Go programs get SIGURG all the time),
// and a commit or lookup cut short by that would fail a close or an open
// that the caller restarts anyway.
func (m *mountFS) reqCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(m.life, 2*time.Minute)
}

// found is what the store says a name is.
type found struct {
	kind  uint32 // 0: nothing
	attrs attrs
}

// probe finds what key is: a file or link (its object), a directory (a
// marker or keys beneath), or nothing.
func (m *mountFS) probe(ctx context.Context, key string) (found, error) {
	info, err := m.cl.Stat(ctx, m.bucket, key)
	if err == nil {
		kind := uint32(syscall.S_IFREG)
		a := attrsFrom(info.Size, info.Modified, info.Meta, info.ETag, kind, m.owner)
		if a.mode&syscall.S_IFMT == syscall.S_IFLNK {
			kind = syscall.S_IFLNK
		}
		return found{kind: kind, attrs: a}, nil
	}
	if !errors.Is(err, client.ErrNoSuchKey) {
		return found{}, err
	}
	res, err := m.cl.List(ctx, client.ListRequest{Bucket: m.bucket, Prefix: key + "/", MaxKeys: 1})
	m.stats.lists.Add(1)
	if err != nil {
		return found{}, err
	}
	if len(res.Objects) == 0 && len(res.CommonPrefixes) == 0 {
		return found{}, nil
	}
	a := attrsFrom(0, m.start, nil, "", syscall.S_IFDIR, m.owner)
	if len(res.Objects) > 0 && res.Objects[0].Key == key+"/" {
		o := res.Objects[0]
		a = attrsFrom(0, o.Modified, o.Meta, o.ETag, syscall.S_IFDIR, m.owner)
	}
	a.mode = syscall.S_IFDIR | a.mode&07777
	return found{kind: syscall.S_IFDIR, attrs: a}, nil
}

// child returns the node for name under n, reusing the one in the tree when
// it has the same type, so open files keep their inode.
func (n *node) child(ctx context.Context, name string, f found) *fs.Inode {
	if ch := n.childNode(name); ch != nil && ch.kind == f.kind && !ch.Forgotten() {
		ch.mu.Lock()
		if ch.open == nil || !ch.open.dirty {
			ch.attr = f.attrs
		}
		ch.mu.Unlock()
		n.m.lru.touch(ch)
		return &ch.Inode
	}
	ch := &node{m: n.m, kind: f.kind, attr: f.attrs}
	return n.m.adopt(n.NewInode(ctx, ch, fs.StableAttr{Mode: f.kind}))
}

func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.m.stats.ops.Add(1)
	key, en := n.childKey(name)
	if en != 0 {
		return nil, syscall.ENOENT
	}
	// A file this mount has open and not yet committed is only here.
	if ch := n.childNode(name); ch != nil {
		ch.mu.Lock()
		pending := ch.open != nil && (ch.open.fresh || ch.open.dirty)
		if pending {
			ch.fillLocked(&out.Attr)
		}
		ch.mu.Unlock()
		if pending {
			return &ch.Inode, 0
		}
	}
	ctx, cancel := n.m.reqCtx()
	defer cancel()
	f, err := n.m.probe(ctx, key)
	if err != nil {
		return nil, n.m.fail("lookup", key, err)
	}
	if f.kind == 0 {
		return nil, syscall.ENOENT
	}
	in := n.child(ctx, name, f)
	ch := in.Operations().(*node)
	ch.mu.Lock()
	ch.fillLocked(&out.Attr)
	ch.mu.Unlock()
	return in, 0
}

// fillLocked writes n's attributes, with the size of its open state.
func (n *node) fillLocked(out *fuse.Attr) {
	a := n.attr
	if n.open != nil {
		a.size = n.open.size
	}
	if n.kind == syscall.S_IFDIR {
		a.size = 4096
	}
	a.fill(out)
}

func (n *node) Getattr(ctx context.Context, _ fs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.m.stats.ops.Add(1)
	n.mu.Lock()
	if n.open != nil || n.kind == syscall.S_IFDIR {
		n.fillLocked(&out.Attr)
		n.mu.Unlock()
		return 0
	}
	n.mu.Unlock()
	key, ok := n.fileKey()
	if !ok {
		n.mu.Lock()
		n.fillLocked(&out.Attr)
		n.mu.Unlock()
		return 0
	}
	ctx, cancel := n.m.reqCtx()
	defer cancel()
	info, err := n.m.cl.Stat(ctx, n.m.bucket, key)
	if err != nil {
		return n.m.fail("getattr", key, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.open == nil {
		n.attr = attrsFrom(info.Size, info.Modified, info.Meta, info.ETag, n.kind, n.m.owner)
		n.attr.mode = n.kind | n.attr.mode&07777
	}
	n.fillLocked(&out.Attr)
	return 0
}

func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	*out = n.m.statfs()
	return 0
}

// fail logs an unexpected error and maps it to an errno.
func (m *mountFS) fail(op, key string, err error) syscall.Errno {
	en := errno(err)
	if en != syscall.ENOENT && en != syscall.EEXIST {
		m.stats.errors.Add(1)
		m.log.Warn("operation failed", "op", op, "key", key, "err", err)
	}
	return en
}

// statfs answers from the cluster's capacity, asked at most every 10s;
// without an answer it reports 1 PiB free.
func (m *mountFS) statfs() fuse.StatfsOut {
	m.statfsMu.Lock()
	defer m.statfsMu.Unlock()
	if !m.statfsAt.IsZero() && time.Since(m.statfsAt) < 10*time.Second {
		return m.statfsVal
	}
	const bsize = 4096
	capacity, used := int64(1<<50), int64(0)
	ctx, cancel := context.WithTimeout(m.life, 3*time.Second)
	defer cancel()
	if st, err := m.cl.Admin().Status(ctx); err == nil {
		var c, u int64
		for _, cs := range st.ChunkServers {
			if cs.State == "alive" || cs.State == "" {
				c += cs.CapacityBytes
				u += cs.UsedBytes
			}
		}
		if c > 0 {
			capacity, used = c, u
		}
	} else {
		m.log.Debug("statfs: no cluster status", "err", err)
	}
	free := max(capacity-used, 0)
	m.statfsVal = fuse.StatfsOut{
		Blocks: uint64(capacity / bsize), Bfree: uint64(free / bsize), Bavail: uint64(free / bsize),
		Files: 1 << 40, Ffree: 1 << 40, Bsize: bsize, Frsize: bsize, NameLen: 1024,
	}
	m.statfsAt = time.Now()
	return m.statfsVal
}

// caller returns the uid and gid of the process behind a request.
func (m *mountFS) caller(ctx context.Context) owner {
	if c, ok := fuse.FromContext(ctx); ok {
		return owner{c.Uid, c.Gid}
	}
	return m.owner
}

// adopt counts a node the bridge returned and puts it in the LRU.
func (m *mountFS) adopt(in *fs.Inode) *fs.Inode {
	if ch, ok := in.Operations().(*node); ok && !ch.counted.Swap(true) {
		m.stats.inodes.Add(1)
		m.lru.add(ch)
	}
	return in
}

// OnForget runs when the kernel has forgotten n and go-fuse drops it.
func (n *node) OnForget() {
	n.m.lru.remove(n)
	if n.counted.Swap(false) {
		n.m.stats.inodes.Add(-1)
	}
}
