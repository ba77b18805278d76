package mount

import (
	"context"
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"

	"github.com/granary-store/granary/client"
)

// renameNoReplace is RENAME_NOREPLACE of renameat2.
const renameNoReplace = 1

func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	n.m.stats.ops.Add(1)
	if n.m.cfg.ReadOnly {
		return syscall.EROFS
	}
	if flags&^uint32(renameNoReplace) != 0 {
		return syscall.EINVAL // RENAME_EXCHANGE, RENAME_WHITEOUT
	}
	np, ok := newParent.(*node)
	if !ok {
		return syscall.EXDEV
	}
	from, en := n.childKey(name)
	if en != 0 {
		return en
	}
	to, en := np.childKey(newName)
	if en != 0 {
		return en
	}
	ctx, cancel := n.m.reqCtx()
	defer cancel()

	srcKind, fresh := uint32(0), false
	if ch := n.childNode(name); ch != nil {
		srcKind = ch.kind
		fresh = ch.pending.Load()
	}
	if !fresh {
		f, err := n.m.probe(ctx, from)
		if err != nil {
			return n.m.fail("rename", from, err)
		}
		if f.kind == 0 {
			return syscall.ENOENT
		}
		srcKind = f.kind
	}
	if from == to {
		return 0
	}
	dst, err := n.m.probe(ctx, to)
	if err != nil {
		return n.m.fail("rename", to, err)
	}
	if dst.kind == 0 {
		if ch := np.childNode(newName); ch != nil && ch.pending.Load() {
			dst.kind = ch.kind
		}
	}
	if dst.kind != 0 && flags&renameNoReplace != 0 {
		return syscall.EEXIST
	}
	if srcKind == syscall.S_IFDIR {
		return n.renameDir(ctx, name, np, newName, dst.kind)
	}
	if dst.kind == syscall.S_IFDIR {
		return syscall.EISDIR
	}
	if ch := np.childNode(newName); ch != nil && dst.kind != 0 {
		ch.detach(ctx) // the replaced file lives on for its open handles
	}
	return n.renameFile(ctx, name, np, newName, dst.kind != 0)
}

// renameFile moves file name of n to newName of np; replace says a file
// is there. The file's commits wait for it (its mu), and it is recorded
// on the node as moved before the tree shows it, so a commit racing the
// rename lands under the new name.
func (n *node) renameFile(ctx context.Context, name string, np *node, newName string, replace bool) syscall.Errno {
	src := n.childNode(name)
	if src != nil {
		src.mu.Lock()
		defer src.mu.Unlock()
		// Attributes changed while the file is open (a chmod or utimes
		// after close(2) and before the kernel's release, which comes
		// late) are committed by the last release, which may run before
		// the tree knows the new name: store them under the old name
		// first, and the rename carries them. Pending bytes are not
		// committed here; their writer commits them under the new name.
		if o := src.open; o != nil && o.dirty && o.state == stClean && !src.unlinked && !src.pending.Load() {
			if err := src.commitLocked(ctx); err != nil {
				return n.m.fail("rename", "", err)
			}
		}
	}
	// Shared: a rename of a directory above moves the keys exclusively.
	n.m.renameMu.RLock()
	defer n.m.renameMu.RUnlock()
	from, en := n.childKey(name)
	if en != 0 {
		return en
	}
	to, en := np.childKey(newName)
	if en != 0 {
		return en
	}
	if src != nil && src.pending.Load() {
		// Nothing stored yet: the commit at close uses the new name. A file
		// it replaces goes now.
		if replace {
			if err := n.m.cl.Delete(ctx, n.m.bucket, to); err != nil && !errors.Is(err, client.ErrNoSuchKey) {
				return n.m.fail("rename", to, err)
			}
		}
		src.setMoved(n, name, np, newName)
		return 0
	}
	if err := n.m.moveObject(ctx, from, to); err != nil {
		return n.m.fail("rename", from, err)
	}
	if src != nil {
		src.setMoved(n, name, np, newName)
	}
	n.m.stats.renames.Add(1)
	return 0
}

// renameDir moves directory name of n to newName of np (dstKind: what is
// there) with renameKeys, holding renameMu exclusively so that no commit
// of a file beneath runs meanwhile, and records the move on the node.
func (n *node) renameDir(ctx context.Context, name string, np *node, newName string, dstKind uint32) syscall.Errno {
	n.m.renameMu.Lock()
	defer n.m.renameMu.Unlock()
	from, en := n.childKey(name)
	if en != 0 {
		return en
	}
	to, en := np.childKey(newName)
	if en != 0 {
		return en
	}
	if err := n.m.renameKeys(ctx, from, to, dstKind); err != nil {
		return n.m.fail("rename", from, err)
	}
	if src := n.childNode(name); src != nil {
		src.setMoved(n, name, np, newName)
	}
	return 0
}

// renameKeys moves every key under from+"/" to to+"/" in one change on the
// master (client.RenamePrefix), so the directory moves atomically: no
// reader ever sees it half moved. A target that is not an empty directory
// is ENOTEMPTY (checked here and again by the master, atomically); a
// directory too large for one change (more than 10,000 keys or 4 MiB of
// records) is refused with EXDEV before anything moves, which makes mv
// copy it instead.
func (m *mountFS) renameKeys(ctx context.Context, from, to string, dstKind uint32) error {
	switch dstKind {
	case syscall.S_IFREG, syscall.S_IFLNK:
		return syscall.ENOTDIR
	case syscall.S_IFDIR:
		res, err := m.cl.List(ctx, client.ListRequest{Bucket: m.bucket, Prefix: to + "/", MaxKeys: 2})
		if err != nil {
			return err
		}
		for _, o := range res.Objects {
			if o.Key != to+"/" {
				return syscall.ENOTEMPTY
			}
		}
		if len(res.CommonPrefixes) > 0 {
			return syscall.ENOTEMPTY
		}
	}
	n, err := m.cl.RenamePrefix(ctx, m.bucket, from+"/", to+"/")
	switch {
	case errors.Is(err, client.ErrConflict):
		return syscall.ENOTEMPTY
	case errors.Is(err, client.ErrTooLarge):
		m.log.Info("directory rename refused: too large for one change", "from", from, "err", err)
		return syscall.EXDEV
	case errors.Is(err, client.ErrBadRequest) && m.versioned(ctx):
		// Moving the keys would take their current versions away from
		// the old names' histories; mv copies and deletes instead.
		m.log.Info("directory rename refused: the bucket is versioned", "from", from)
		return syscall.EXDEV
	case err != nil:
		return fmt.Errorf("mount: rename directory %s to %s: %w", from, to, err)
	}
	m.stats.renames.Add(int64(n))
	return nil
}

// moveObject renames one object: one master command, or in a versioned
// bucket, where the master refuses to move a version from one key's
// history to another's, a copy and a delete (copyObject).
func (m *mountFS) moveObject(ctx context.Context, from, to string) error {
	err := m.cl.Rename(ctx, m.bucket, from, to)
	if errors.Is(err, client.ErrBadRequest) && m.versioned(ctx) {
		return m.copyObject(ctx, from, to)
	}
	return err
}

// versioned reports whether the bucket keeps versions (enabled or
// suspended); false when that cannot be known.
func (m *mountFS) versioned(ctx context.Context) bool {
	b, err := m.cl.Bucket(ctx, m.bucket)
	if err != nil {
		m.log.Warn("bucket state unknown", "err", err)
		return false
	}
	return b.Versioning != ""
}

// copyObject renames from to to as an S3 client's copy and delete do: to
// gets a new version holding from's bytes and metadata, from gets a
// delete marker, and every older version of both stays listable. The
// bytes stream through the mount (no local space). The delete is
// conditional on the ETag copied: if from changed meanwhile it stays, and
// the rename fails (EAGAIN) with both names holding an object. A crash
// between the two steps leaves both names too; nothing is lost.
func (m *mountFS) copyObject(ctx context.Context, from, to string) error {
	src, err := m.cl.Open(ctx, m.bucket, from)
	if err != nil {
		return err
	}
	defer src.Close()
	info := src.Info()
	opts := &client.PutOptions{Meta: info.Meta, ContentType: info.ContentType}
	if _, err := m.cl.Put(ctx, m.bucket, to, io.NewSectionReader(src, 0, info.Size), info.Size, opts); err != nil {
		return fmt.Errorf("mount: rename %s to %s in a versioned bucket: copy: %w", from, to, err)
	}
	if err := m.cl.DeleteIf(ctx, m.bucket, from, client.DeleteOptions{IfETag: info.ETag}); err != nil {
		return fmt.Errorf("mount: rename %s to %s in a versioned bucket: copied, the old name stays: %w", from, to, err)
	}
	return nil
}
