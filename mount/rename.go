package mount

import (
	"context"
	"errors"
	"fmt"
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
	if err := n.m.cl.Rename(ctx, n.m.bucket, from, to); err != nil {
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
	case err != nil:
		return fmt.Errorf("mount: rename directory %s to %s: %w", from, to, err)
	}
	m.stats.renames.Add(int64(n))
	return nil
}
