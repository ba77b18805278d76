package mount

import (
	"context"
	"encoding/base64"
	"maps"
	"slices"
	"strings"
	"syscall"
)

// Extended attributes of the "user." namespace are user metadata
// "xattr-NAME" (base64 values); other namespaces are not supported.

const enodata = syscall.ENODATA

func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if !strings.HasPrefix(attr, "user.") {
		return 0, enodata
	}
	n.mu.Lock()
	v, ok := n.attr.meta[metaXattr+attr]
	n.mu.Unlock()
	if !ok {
		return 0, enodata
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return 0, enodata
	}
	if len(dest) < len(b) {
		return uint32(len(b)), syscall.ERANGE
	}
	return uint32(copy(dest, b)), 0
}

func (n *node) Listxattr(ctx context.Context, dest []byte) (uint32, syscall.Errno) {
	n.mu.Lock()
	var names []string
	for k := range n.attr.meta {
		if name, ok := strings.CutPrefix(k, metaXattr); ok {
			names = append(names, name)
		}
	}
	n.mu.Unlock()
	slices.Sort(names)
	var b []byte
	for _, name := range names {
		b = append(append(b, name...), 0)
	}
	if len(dest) < len(b) {
		return uint32(len(b)), syscall.ERANGE
	}
	return uint32(copy(dest, b)), 0
}

const (
	xattrCreate  = 1
	xattrReplace = 2
)

func (n *node) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) syscall.Errno {
	if n.m.cfg.ReadOnly {
		return syscall.EROFS
	}
	if !strings.HasPrefix(attr, "user.") {
		return syscall.EOPNOTSUPP
	}
	return n.changeMeta(ctx, func(m map[string]string) syscall.Errno {
		_, exists := m[metaXattr+attr]
		switch {
		case flags&xattrCreate != 0 && exists:
			return syscall.EEXIST
		case flags&xattrReplace != 0 && !exists:
			return enodata
		}
		m[metaXattr+attr] = base64.StdEncoding.EncodeToString(data)
		return 0
	})
}

func (n *node) Removexattr(ctx context.Context, attr string) syscall.Errno {
	if n.m.cfg.ReadOnly {
		return syscall.EROFS
	}
	return n.changeMeta(ctx, func(m map[string]string) syscall.Errno {
		if _, ok := m[metaXattr+attr]; !ok {
			return enodata
		}
		delete(m, metaXattr+attr)
		return 0
	})
}

// changeMeta edits n's user metadata and stores it (at once for a closed
// file or a directory, at the commit of an open one).
func (n *node) changeMeta(ctx context.Context, edit func(map[string]string) syscall.Errno) syscall.Errno {
	rctx, cancel := n.m.reqCtx()
	defer cancel()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.kind == syscall.S_IFDIR {
		m := maps.Clone(n.attr.meta)
		if m == nil {
			m = map[string]string{}
		}
		if en := edit(m); en != 0 {
			return en
		}
		n.attr.meta = m
		return n.putMarkerLocked(rctx)
	}
	o, err := n.acquireLocked(rctx)
	if err != nil {
		return n.m.fail("xattr", "", err)
	}
	m := maps.Clone(n.attr.meta)
	if m == nil {
		m = map[string]string{}
	}
	if en := edit(m); en != 0 {
		n.releaseLocked(rctx)
		return en
	}
	if maps.Equal(m, n.attr.meta) {
		// The same value again: nothing to store (on a closed file a
		// change costs a copy of the object).
		n.releaseLocked(rctx)
		return 0
	}
	n.attr.meta = m
	o.dirty = true
	if err := n.releaseLocked(rctx); err != nil {
		return n.m.fail("xattr", "", err)
	}
	return 0
}
