package mount

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"
	"time"

	"github.com/granary-store/granary/client"
)

// state is where an open file's current bytes are.
type state int

const (
	stClean  state = iota // in the store, as the last commit left them
	stMem                 // in openFile.mem (a small new or rewritten file)
	stStream              // flowing into openFile.w, openFile.size bytes so far
	stSpool               // in openFile.spool
)

// openFile is the state of a file while handles are open on it (or while a
// truncate or attribute change without a handle commits). It belongs to
// its node and is guarded by the node's mu.
type openFile struct {
	refs  int
	state state
	size  int64
	gen   uint64 // bumps at every commit, so handles reopen their reader
	dirty bool   // bytes or attributes differ from the store
	fresh bool   // created here; no object in the store yet
	// lost: bytes written through the handles were lost with a failed
	// stream; every later write and commit fails with it (the store keeps
	// what it had) until a truncate to zero or the last release
	lost error

	mem    []byte
	memRes int64 // bytes of mem reserved in the memory budget

	s         *stream
	commitKey string // where the Writer commits, read by its BeforeCommit
	commitMet map[string]string

	spool *spoolFile
}

// acquire returns n's open state, creating it (from the store) if needed.
// Called with n.mu held.
func (n *node) acquireLocked(ctx context.Context) (*openFile, error) {
	if n.open != nil {
		n.open.refs++
		return n.open, nil
	}
	o := &openFile{refs: 1, state: stClean, size: n.attr.size}
	if key, ok := n.fileKey(); ok && !n.unlinked {
		info, err := n.m.cl.Stat(ctx, n.m.bucket, key)
		if err != nil {
			return nil, err
		}
		n.attr = attrsFrom(info.Size, info.Modified, info.Meta, info.ETag, n.kind, n.m.owner)
		n.attr.mode = n.kind | n.attr.mode&07777
		o.size = info.Size
	}
	n.open = o
	return o, nil
}

// releaseLocked drops one reference; the last one commits what is dirty
// and frees the buffers. Called with n.mu held.
func (n *node) releaseLocked(ctx context.Context) error {
	o := n.open
	if o == nil {
		return nil
	}
	o.refs--
	if o.refs > 0 {
		return nil
	}
	err := n.commitLocked(ctx)
	n.dropLocked()
	return err
}

// dropLocked frees the open state's buffers without committing.
func (n *node) dropLocked() {
	o := n.open
	if o == nil {
		return
	}
	if o.s != nil {
		o.s.abort()
		o.s = nil
	}
	n.m.mem.give(o.memRes)
	o.mem, o.memRes = nil, 0
	if o.spool != nil {
		o.spool.close()
		o.spool = nil
	}
	n.attr.size = o.size
	n.open = nil
	n.pending.Store(false)
}

// commitLocked makes the store hold the open file's bytes and attributes,
// atomically. Nothing happens for a clean, unlinked or orphaned file.
func (n *node) commitLocked(ctx context.Context) error {
	o := n.open
	if o != nil && o.lost != nil && !n.unlinked {
		return o.lost
	}
	if o == nil || !o.dirty || n.unlinked {
		return nil
	}
	n.m.renameMu.RLock() // the key stays the file's until the store has it
	defer n.m.renameMu.RUnlock()
	key, ok := n.fileKey()
	if !ok {
		return nil
	}
	meta := n.attr.toMeta()
	start := time.Now()
	var info client.ObjectInfo
	var err error
	switch o.state {
	case stMem:
		info, err = n.m.cl.Put(ctx, n.m.bucket, key, bytes.NewReader(o.mem[:o.size]), o.size, &client.PutOptions{Meta: meta})
		if err == nil {
			n.m.mem.give(o.memRes)
			o.mem, o.memRes, o.state = nil, 0, stClean
		}
	case stStream:
		o.commitKey, o.commitMet = key, meta
		err = o.s.finish()
		info = o.s.w.Info()
		o.s, o.state = nil, stClean
		if err != nil {
			o.loseLocked(err)
		}
	case stSpool:
		info, err = n.m.cl.Put(ctx, n.m.bucket, key, io.NewSectionReader(o.spool.f, 0, o.size), o.size, &client.PutOptions{Meta: meta})
	case stClean:
		if o.fresh {
			info, err = n.m.cl.Put(ctx, n.m.bucket, key, bytes.NewReader(nil), 0, &client.PutOptions{Meta: meta})
		} else {
			info, err = n.m.rewrite(ctx, key, n.attr.etag, o.size, meta)
		}
	}
	n.m.stats.commits.Add(1)
	if err != nil {
		n.m.stats.errors.Add(1)
		if o.state == stClean {
			o.dirty = false // a change of attributes alone is dropped
		}
		return fmt.Errorf("mount: commit %s: %w", key, err)
	}
	n.m.log.Debug("committed", "key", key, "size", o.size, "took", time.Since(start))
	o.dirty, o.fresh = false, false
	n.pending.Store(false)
	o.gen++
	n.attr.etag = info.ETag
	return nil
}

// rewrite gives an object new metadata (a chmod, chown, utimes or xattr
// change of a closed file): in place, without copying its bytes
// (client.SetMeta), conditional on the ETag it started from. In a
// versioned bucket, where a metadata change makes a new version, the
// bytes are copied into one instead, on the same condition.
func (m *mountFS) rewrite(ctx context.Context, key, etag string, size int64, meta map[string]string) (client.ObjectInfo, error) {
	if etag == "" {
		st, err := m.cl.Stat(ctx, m.bucket, key)
		if err != nil {
			return client.ObjectInfo{}, err
		}
		etag = st.ETag
	}
	info, err := m.cl.SetMeta(ctx, m.bucket, key, etag, meta)
	if !errors.Is(err, client.ErrBadRequest) {
		return info, err
	}
	src, err := m.cl.Open(ctx, m.bucket, key)
	if err != nil {
		return client.ObjectInfo{}, err
	}
	defer src.Close()
	info = src.Info()
	return m.cl.Put(ctx, m.bucket, key, io.NewSectionReader(src, 0, info.Size), info.Size,
		&client.PutOptions{Meta: meta, IfETag: etag, ContentType: info.ContentType})
}

// detach marks n unlinked: its open handles keep the bytes (copied to the
// spool first when they are only in the store) and nothing is committed.
// It reports whether n had no object in the store.
func (n *node) detach(ctx context.Context) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.unlinked {
		return true
	}
	fresh := false
	if o := n.open; o != nil {
		fresh = o.fresh
		if o.state == stClean && !o.fresh && o.size > 0 {
			if err := n.toSpoolLocked(ctx); err != nil {
				n.m.log.Warn("unlink of an open file: cannot keep a local copy", "err", err)
			}
		}
	}
	n.unlinked = true
	n.pending.Store(false)
	return fresh
}

// toSpoolLocked moves the open file's bytes into a spool file.
func (n *node) toSpoolLocked(ctx context.Context) error {
	o := n.open
	if o.state == stSpool {
		return nil
	}
	sp, err := newSpoolFile(n.m.cfg.CacheDir, &n.m.spool)
	if err != nil {
		return err
	}
	if err := sp.grow(o.size); err != nil {
		sp.close()
		return err
	}
	switch o.state {
	case stMem:
		_, err = sp.f.WriteAt(o.mem[:o.size], 0)
	case stStream:
		err = n.streamToSpool(ctx, sp)
	case stClean:
		if !o.fresh && o.size > 0 {
			err = n.download(ctx, sp)
		}
	}
	if err != nil {
		sp.close()
		return err
	}
	n.m.mem.give(o.memRes)
	o.mem, o.memRes = nil, 0
	o.spool, o.state = sp, stSpool
	n.m.stats.spools.Add(1)
	return nil
}

// download copies the stored object into sp.
func (n *node) download(ctx context.Context, sp *spoolFile) error {
	key, ok := n.fileKey()
	if !ok {
		return syscall.ENOENT
	}
	obj, err := n.m.cl.Open(ctx, n.m.bucket, key)
	if err != nil {
		return err
	}
	defer obj.Close()
	if obj.Size() != n.open.size {
		if err := sp.grow(obj.Size()); err != nil {
			return err
		}
		n.open.size = obj.Size()
	}
	_, err = obj.WriteTo(io.NewOffsetWriter(sp.f, 0))
	return err
}

// streamToSpool ends a stream by committing it under a temporary key, then
// copies that object into sp and deletes it: the bytes sent so far are
// not lost, and the file's own key never shows a partial object.
func (n *node) streamToSpool(ctx context.Context, sp *spoolFile) error {
	o := n.open
	tmp := fmt.Sprintf("%s%s/%d-%d", n.m.prefix, tmpDir, n.m.start.UnixNano(), n.m.tmpSeq.Add(1))
	o.commitKey, o.commitMet = tmp, nil
	err := o.s.finish()
	o.s = nil
	o.state = stClean
	if err != nil {
		o.loseLocked(err)
		return fmt.Errorf("mount: stream to temporary %s: %w", tmp, err)
	}
	defer func() {
		if err := n.m.cl.Delete(context.WithoutCancel(ctx), n.m.bucket, tmp); err != nil {
			n.m.log.Warn("temporary object left behind", "key", tmp, "err", err)
		}
	}()
	obj, err := n.m.cl.Open(ctx, n.m.bucket, tmp)
	if err != nil {
		return err
	}
	defer obj.Close()
	_, err = obj.WriteTo(io.NewOffsetWriter(sp.f, 0))
	return err
}

// startStreamLocked turns a memory state into a stream, sending what is
// in memory first.
func (n *node) startStreamLocked() error {
	o := n.open
	wctx, cancel := context.WithCancel(n.m.life)
	opts := &client.PutOptions{BeforeCommit: func(obj *client.ObjectInfo) error {
		obj.Key = o.commitKey
		if o.commitMet != nil {
			obj.Meta = o.commitMet
		}
		return nil
	}}
	key, _ := n.fileKey()
	w, err := n.m.cl.NewWriter(wctx, n.m.bucket, key, opts)
	if err != nil {
		cancel()
		return err
	}
	if o.size > 0 {
		if _, err := w.Write(o.mem[:o.size]); err != nil {
			w.Abort()
			cancel()
			return err
		}
	}
	n.m.mem.give(o.memRes)
	o.mem, o.memRes = nil, 0
	o.s, o.state = newStream(w, cancel, &n.m.mem), stStream
	n.m.stats.streams.Add(1)
	return nil
}

// writeLocked writes p at off, choosing the cheapest state that can take it.
func (n *node) writeLocked(ctx context.Context, p []byte, off int64) error {
	o := n.open
	if o.lost != nil {
		return o.lost
	}
	end := off + int64(len(p))
	if o.state == stClean && (o.size == 0 || o.fresh) {
		o.state = stMem
	}
	if o.state == stMem {
		if end <= n.m.cfg.MemBuffer && n.growMem(end) {
			copy(o.mem[off:end], p)
			o.size = max(o.size, end)
			return nil
		}
		if off >= o.size {
			if err := n.startStreamLocked(); err != nil {
				return err
			}
		} else if err := n.toSpoolLocked(ctx); err != nil {
			return err
		}
	}
	if o.state == stStream && off >= o.size {
		err := n.zeroFill(off)
		if err == nil {
			err = o.s.write(p)
		}
		if err != nil {
			o.s.abort()
			o.s, o.state = nil, stClean
			o.loseLocked(err)
			return err
		}
		o.size = end
		return nil
	}
	if err := n.toSpoolLocked(ctx); err != nil {
		return err
	}
	if err := o.spool.grow(max(end, o.size)); err != nil {
		return err
	}
	if _, err := o.spool.f.WriteAt(p, off); err != nil {
		return fmt.Errorf("mount: spool write: %w", err)
	}
	o.size = max(o.size, end)
	return nil
}

// loseLocked records that the bytes of a failed stream are gone: nothing
// from the open state may be committed, or read, any more (later writes
// would otherwise land on the stored object, or on a hole, and commit a
// mix). The state is clean again: the store holds what it held.
func (o *openFile) loseLocked(err error) {
	if o.lost == nil {
		o.lost = fmt.Errorf("mount: bytes written were lost: %w", err)
	}
	o.dirty = false
}

// growMem makes mem hold size bytes, within the memory budget.
func (n *node) growMem(size int64) bool {
	o := n.open
	if size > o.memRes {
		want := max(size, min(2*o.memRes, n.m.cfg.MemBuffer), 4096)
		want = min(want, n.m.cfg.MemBuffer)
		if want < size || !n.m.mem.take(want-o.memRes) {
			return false
		}
		o.memRes = want
	}
	if int64(cap(o.mem)) < size {
		grown := make([]byte, size, o.memRes)
		copy(grown, o.mem)
		o.mem = grown
	}
	if int64(len(o.mem)) < size {
		o.mem = o.mem[:size]
	}
	return true
}

// zeroFill writes zeros into the stream up to off (a write past the end
// leaves a hole, which reads as zeros).
func (n *node) zeroFill(off int64) error {
	o := n.open
	if off <= o.size {
		return nil
	}
	zeros := make([]byte, min(off-o.size, 1<<20))
	for o.size < off {
		k := min(int64(len(zeros)), off-o.size)
		if err := o.s.write(zeros[:k]); err != nil {
			return err
		}
		o.size += k
	}
	return nil
}

// truncateLocked sets the open file's size.
func (n *node) truncateLocked(ctx context.Context, size int64) error {
	o := n.open
	if size == 0 {
		o.lost = nil // nothing of the lost bytes is wanted any more
	}
	if size == o.size {
		return nil
	}
	if size == 0 && o.state != stSpool {
		if o.s != nil {
			o.s.abort()
			o.s = nil
		}
		n.m.mem.give(o.memRes)
		o.mem, o.memRes, o.size, o.state = nil, 0, 0, stMem
		return nil
	}
	if o.state == stMem && size <= n.m.cfg.MemBuffer && n.growMem(max(size, o.size)) {
		clear(o.mem[min(size, o.size):])
		o.mem = o.mem[:size]
		o.size = size
		return nil
	}
	if o.state == stStream && size > o.size {
		return n.zeroFill(size)
	}
	if err := n.toSpoolLocked(ctx); err != nil {
		return err
	}
	if err := o.spool.grow(size); err != nil {
		return err
	}
	if err := o.spool.f.Truncate(size); err != nil {
		return fmt.Errorf("mount: spool truncate: %w", err)
	}
	o.spool.shrink(size)
	o.size = size
	return nil
}

// readLocked reads from a non-clean open state.
func (n *node) readLocked(ctx context.Context, p []byte, off int64) (int, error) {
	o := n.open
	if off >= o.size {
		return 0, nil
	}
	p = p[:min(int64(len(p)), o.size-off)]
	switch o.state {
	case stMem:
		return copy(p, o.mem[off:o.size]), nil
	case stStream:
		if err := n.toSpoolLocked(ctx); err != nil {
			return 0, err
		}
	}
	k, err := o.spool.f.ReadAt(p, off)
	if errors.Is(err, io.EOF) {
		clear(p[k:])
		k, err = len(p), nil // a hole at the end of a sparse spool
	}
	return k, err
}
