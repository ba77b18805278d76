package client

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// FS returns a read-only io/fs view of a bucket: keys are paths, "/"
// separates directories, and directories are the implicit prefixes of
// keys (plus explicit directory markers, keys ending in "/"). Keys that are
// not valid io/fs paths (such as "a//b" or "../x") are not visible through
// it. The view implements fs.StatFS, fs.ReadDirFS and fs.ReadFileFS.
func (c *Client) FS(ctx context.Context, bucket string) fs.FS {
	return &bucketFS{c: c, ctx: ctx, bucket: bucket}
}

type bucketFS struct {
	c      *Client
	ctx    context.Context
	bucket string
}

func (b *bucketFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if name != "." {
		o, err := b.c.Open(b.ctx, b.bucket, name)
		if err == nil {
			return &file{Object: o, name: name}, nil
		}
		if !errors.Is(err, ErrNoSuchKey) {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
	}
	entries, err := b.readDir(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if name != "." && len(entries) == 0 {
		if ok, err := b.anyUnder(name); err != nil || !ok {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
	}
	return &dir{name: name, entries: entries}, nil
}

// anyUnder reports whether any key starts with name+"/": a directory
// marker, or keys that are not valid fs paths (such as "name//x").
func (b *bucketFS) anyUnder(name string) (bool, error) {
	res, err := b.c.List(b.ctx, ListRequest{Bucket: b.bucket, Prefix: name + "/", MaxKeys: 1})
	return err == nil && len(res.Objects) > 0, err
}

// Stat needs no listing: an object's record, or else whether any key lies
// under name+"/".
func (b *bucketFS) Stat(name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return info{name: ".", dir: true}, nil
	}
	o, err := b.c.Stat(b.ctx, b.bucket, name)
	if err == nil {
		return info{name: path.Base(name), size: o.Size, mod: o.Modified}, nil
	}
	if !errors.Is(err, ErrNoSuchKey) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	if ok, err := b.anyUnder(name); err != nil || !ok {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return info{name: path.Base(name), dir: true}, nil
}

func (b *bucketFS) ReadFile(name string) ([]byte, error) {
	f, err := b.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, ok := f.(*dir); ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	return io.ReadAll(f)
}

func (b *bucketFS) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := b.Open(name)
	if err != nil {
		return nil, err
	}
	d, ok := f.(*dir)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return d.ReadDir(-1)
}

// readDir lists one directory level, sorted by name (byte order of keys
// is the order fs wants).
func (b *bucketFS) readDir(name string) ([]fs.DirEntry, error) {
	prefix := ""
	if name != "." {
		prefix = name + "/"
	}
	var out []fs.DirEntry
	req := ListRequest{Bucket: b.bucket, Prefix: prefix, Delimiter: "/"}
	for {
		res, err := b.c.List(b.ctx, req)
		if err != nil {
			return nil, err
		}
		for _, p := range res.CommonPrefixes {
			base := strings.TrimSuffix(p[len(prefix):], "/")
			if fs.ValidPath(base) && !strings.Contains(base, "/") {
				out = append(out, fs.FileInfoToDirEntry(info{name: base, dir: true}))
			}
		}
		for _, o := range res.Objects {
			base := o.Key[len(prefix):]
			if base != "" && fs.ValidPath(base) && !strings.Contains(base, "/") {
				out = append(out, fs.FileInfoToDirEntry(info{name: base, size: o.Size, mod: o.Modified}))
			}
		}
		if !res.IsTruncated {
			sortEntries(out)
			return out, nil
		}
		req.StartAfter = res.NextStartAfter
	}
}

// sortEntries orders entries by name: a common prefix "a/" sorts after a
// key "a-b" in byte order of keys but before it by name.
func sortEntries(es []fs.DirEntry) {
	slices.SortFunc(es, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
}

type file struct {
	*Object
	name string
}

func (f *file) Stat() (fs.FileInfo, error) {
	return info{name: path.Base(f.name), size: f.info.Size, mod: f.info.Modified}, nil
}

type dir struct {
	name    string
	entries []fs.DirEntry
	off     int
}

func (d *dir) Stat() (fs.FileInfo, error) { return info{name: path.Base(d.name), dir: true}, nil }
func (d *dir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: errors.New("is a directory")}
}
func (d *dir) Close() error { return nil }

func (d *dir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.off += n
	return rest[:n], nil
}

type info struct {
	name string
	size int64
	mod  time.Time
	dir  bool
}

func (i info) Name() string { return i.name }
func (i info) Size() int64  { return i.size }
func (i info) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (i info) ModTime() time.Time { return i.mod }
func (i info) IsDir() bool        { return i.dir }
func (i info) Sys() any           { return nil }
