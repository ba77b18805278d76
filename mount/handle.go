package mount

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/granary-store/granary/client"
)

// handle is one open file description. Reads of a clean file go through
// the handle's own client.Object (the version current when it was opened,
// or at the last commit through this mount) with read-ahead; everything
// else goes through the node's shared open state.
type handle struct {
	n        *node
	writable bool

	mu     sync.Mutex // guards obj, objGen and ra
	obj    *client.Object
	objGen uint64
	ra     *readAhead
}

var (
	_ fs.FileReader   = (*handle)(nil)
	_ fs.FileWriter   = (*handle)(nil)
	_ fs.FileFlusher  = (*handle)(nil)
	_ fs.FileFsyncer  = (*handle)(nil)
	_ fs.FileReleaser = (*handle)(nil)
)

func writeFlags(flags uint32) bool {
	return flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0
}

func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	n.m.stats.ops.Add(1)
	if n.m.cfg.ReadOnly {
		return nil, nil, 0, syscall.EROFS
	}
	key, en := n.childKey(name)
	if en != 0 {
		return nil, nil, 0, en
	}
	rctx, cancel := n.m.reqCtx()
	defer cancel()
	// The kernel looked the name up and found nothing; only a file created
	// since by another client is checked for (a directory made since is
	// not: its marker or keys would simply be shadowed by the new file).
	var f found
	if info, err := n.m.cl.Stat(rctx, n.m.bucket, key); err == nil {
		f = found{kind: syscall.S_IFREG, attrs: attrsFrom(info.Size, info.Modified, info.Meta, info.ETag, syscall.S_IFREG, n.m.owner)}
		if f.attrs.mode&syscall.S_IFMT != syscall.S_IFREG {
			return nil, nil, 0, syscall.EEXIST // a symbolic link
		}
	} else if !errors.Is(err, client.ErrNoSuchKey) {
		return nil, nil, 0, n.m.fail("create", key, err)
	}
	if f.kind != 0 && flags&syscall.O_EXCL != 0 {
		return nil, nil, 0, syscall.EEXIST
	} else if f.kind == syscall.S_IFREG {
		// Created meanwhile by someone else (our lookup said no): open it.
		ch := n.child(ctx, name, f).Operations().(*node)
		fh, _, en := ch.Open(ctx, flags)
		if en != 0 {
			return nil, nil, 0, en
		}
		ch.mu.Lock()
		ch.fillLocked(&out.Attr)
		ch.mu.Unlock()
		return &ch.Inode, fh, 0, 0
	}
	if old := n.childNode(name); old != nil {
		old.detach(rctx) // its handles keep the old bytes
	}
	ch := &node{m: n.m, kind: syscall.S_IFREG, attr: n.newAttrs(ctx, syscall.S_IFREG, mode)}
	ch.open = &openFile{refs: 1, state: stMem, fresh: true, dirty: true}
	ch.pending.Store(true)
	in := n.m.adopt(n.NewInode(ctx, ch, fs.StableAttr{Mode: syscall.S_IFREG}))
	ch.mu.Lock()
	ch.fillLocked(&out.Attr)
	ch.mu.Unlock()
	return in, &handle{n: ch, writable: true}, 0, 0
}

func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	n.m.stats.ops.Add(1)
	w := writeFlags(flags)
	if w && n.m.cfg.ReadOnly {
		return nil, 0, syscall.EROFS
	}
	if n.kind != syscall.S_IFREG {
		return nil, 0, syscall.EINVAL
	}
	rctx, cancel := n.m.reqCtx()
	defer cancel()
	n.mu.Lock()
	defer n.mu.Unlock()
	o, err := n.acquireLocked(rctx)
	if err != nil {
		key, _ := n.fileKey()
		return nil, 0, n.m.fail("open", key, err)
	}
	if flags&syscall.O_TRUNC != 0 && o.size > 0 {
		if err := n.truncateLocked(rctx, 0); err != nil {
			n.releaseLocked(rctx)
			return nil, 0, n.m.fail("open", "", err)
		}
		o.dirty = true
		n.attr.mtime = time.Now()
	}
	return &handle{n: n, writable: w}, 0, 0
}

func (h *handle) Read(_ context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n := h.n
	ctx, cancel := n.m.reqCtx()
	defer cancel()
	n.m.stats.ops.Add(1)
	n.mu.Lock()
	o := n.open
	if o.lost != nil {
		n.mu.Unlock()
		return nil, n.m.fail("read", "", o.lost)
	}
	if o.state != stClean {
		k, err := n.readLocked(ctx, dest, off)
		n.mu.Unlock()
		if err != nil {
			return nil, n.m.fail("read", "", err)
		}
		n.m.stats.readBytes.Add(int64(k))
		return fuse.ReadResultData(dest[:k]), 0
	}
	gen, size, fresh := o.gen, o.size, o.fresh
	n.mu.Unlock()
	if fresh || off >= size {
		return fuse.ReadResultData(nil), 0
	}
	ra, err := h.reader(ctx, gen)
	if err != nil {
		key, _ := n.fileKey()
		return nil, n.m.fail("read", key, err)
	}
	k, err := ra.readAt(ctx, dest, off)
	if err != nil {
		return nil, n.m.fail("read", "", err)
	}
	n.m.stats.readBytes.Add(int64(k))
	return fuse.ReadResultData(dest[:k]), 0
}

// reader returns the handle's read-ahead over the object version of
// commit generation gen, opening it when needed.
func (h *handle) reader(ctx context.Context, gen uint64) (*readAhead, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ra != nil && h.objGen == gen {
		return h.ra, nil
	}
	if h.ra != nil {
		h.ra.close()
		h.ra = nil
	}
	key, ok := h.n.fileKey()
	if !ok {
		return nil, syscall.ENOENT
	}
	// The Object keeps its context for its whole life: the mount's.
	obj, err := h.n.m.cl.Open(h.n.m.life, h.n.m.bucket, key)
	if err != nil {
		return nil, err
	}
	h.obj, h.objGen = obj, gen
	h.ra = newReadAhead(h.n.m, obj)
	return h.ra, nil
}

func (h *handle) Write(_ context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	n := h.n
	ctx, cancel := n.m.reqCtx()
	defer cancel()
	n.m.stats.ops.Add(1)
	if !h.writable {
		return 0, syscall.EBADF
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.writeLocked(ctx, data, off); err != nil {
		key, _ := n.fileKey()
		return 0, n.m.fail("write", key, err)
	}
	n.open.dirty = true
	n.attr.mtime = time.Now()
	n.m.stats.writeBytes.Add(int64(len(data)))
	return uint32(len(data)), 0
}

// Flush runs at every close(2). A handle that may have written commits
// everything; a read-only handle commits only a pending change of
// attributes alone (fchmod or futimens through it, or a chmod by path
// while it was open), never bytes: a reader closing must not cut a
// writer's file short. The kernel sends no file handle with a chmod, so
// the change cannot be tied to the descriptor it came through, and the
// release that would commit it otherwise comes after close(2) returns,
// too late for a rename (rsync: fchmod of a read-only descriptor of its
// temporary file, close, rename).
func (h *handle) Flush(ctx context.Context) syscall.Errno {
	return h.commit(ctx, "flush", !h.writable)
}

func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	return h.commit(ctx, "fsync", false)
}

// commit commits the node's open state; attrsOnly limits it to a pending
// change of attributes (a state with no bytes waiting).
func (h *handle) commit(_ context.Context, op string, attrsOnly bool) syscall.Errno {
	n := h.n
	n.m.stats.ops.Add(1)
	ctx, cancel := n.m.reqCtx()
	defer cancel()
	n.mu.Lock()
	defer n.mu.Unlock()
	if attrsOnly && (n.open == nil || n.open.state != stClean || n.open.lost != nil) {
		return 0
	}
	if err := n.commitLocked(ctx); err != nil {
		key, _ := n.fileKey()
		return n.m.fail(op, key, err)
	}
	return 0
}

func (h *handle) Release(ctx context.Context) syscall.Errno {
	n := h.n
	h.mu.Lock()
	if h.ra != nil {
		h.ra.close()
		h.ra = nil
	}
	h.mu.Unlock()
	// The kernel does not wait for release: commit on the mount's life.
	ctx, cancel := n.m.reqCtx()
	defer cancel()
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.releaseLocked(ctx); err != nil {
		key, _ := n.fileKey()
		n.m.fail("release", key, err)
	}
	return 0
}

func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	n.m.stats.ops.Add(1)
	if n.m.cfg.ReadOnly {
		return syscall.EROFS
	}
	rctx, cancel := n.m.reqCtx()
	defer cancel()
	if n.kind == syscall.S_IFDIR {
		return n.setDirAttr(rctx, in, out)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	o, err := n.acquireLocked(rctx)
	if err != nil {
		key, _ := n.fileKey()
		return n.m.fail("setattr", key, err)
	}
	if sz, ok := in.GetSize(); ok {
		if n.kind != syscall.S_IFREG {
			n.releaseLocked(rctx)
			return syscall.EINVAL
		}
		if err := n.truncateLocked(rctx, int64(sz)); err != nil {
			n.releaseLocked(rctx)
			return n.m.fail("truncate", "", err)
		}
		n.attr.mtime = time.Now()
		o.dirty = true
	}
	if n.applyAttr(in) {
		o.dirty = true
	}
	n.fillLocked(&out.Attr)
	if err := n.releaseLocked(rctx); err != nil {
		key, _ := n.fileKey()
		return n.m.fail("setattr", key, err)
	}
	return 0
}

// applyAttr applies mode, owner and time changes to n.attr; it reports
// whether anything changed. Setting a value it already has is no change:
// on a closed file a change costs a copy of the object, and tools set
// what is already there all the time (tar and cp -p running as root chown
// to the owner the file has, chmod to the mode it was created with).
func (n *node) applyAttr(in *fuse.SetAttrIn) bool {
	a, changed := &n.attr, false
	if m, ok := in.GetMode(); ok && a.mode&07777 != m&07777 {
		a.mode, changed = a.mode&syscall.S_IFMT|m&07777, true
	}
	if u, ok := in.GetUID(); ok && a.uid != u {
		a.uid, changed = u, true
	}
	if g, ok := in.GetGID(); ok && a.gid != g {
		a.gid, changed = g, true
	}
	if t, ok := in.GetMTime(); ok && !a.mtime.Equal(t) {
		a.mtime, changed = t, true
	}
	return changed
}

// setDirAttr keeps a directory's attributes on its marker (creating one
// for a directory that exists only through its keys).
func (n *node) setDirAttr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := in.GetSize(); ok {
		return syscall.EISDIR
	}
	if n.applyAttr(in) {
		if en := n.putMarkerLocked(ctx); en != 0 {
			return en
		}
	}
	n.fillLocked(&out.Attr)
	return 0
}

// putMarkerLocked stores directory n's marker with its attributes.
func (n *node) putMarkerLocked(ctx context.Context) syscall.Errno {
	if n == n.m.root {
		return 0 // the root's attributes live in memory only
	}
	n.m.renameMu.RLock() // see mkdirKey
	defer n.m.renameMu.RUnlock()
	dk, ok := n.dirKey()
	if !ok {
		return syscall.ENOENT
	}
	if _, err := n.m.cl.Put(ctx, n.m.bucket, dk, bytes.NewReader(nil), 0, &client.PutOptions{Meta: n.attr.toMeta()}); err != nil {
		return n.m.fail("setattr", dk, err)
	}
	return 0
}
