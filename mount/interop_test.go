package mount_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
	"github.com/granary-store/granary/mount"
)

func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// waitFor polls cond until it holds (bounded by the attribute TTLs).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMountInterop(t *testing.T) {
	e := startMount(t, func(c *mount.Config) { c.AttrTTL, c.EntryTTL = 200*time.Millisecond, 200*time.Millisecond })
	ctx := ctxT(t, time.Minute)
	for _, size := range []int{0, 100, 1 << 20, 3<<20 + 7} {
		data := randBytes(size, 1)
		name := "from-mount-" + strconv.Itoa(size)
		if err := os.WriteFile(filepath.Join(e.dir, name), data, 0o640); err != nil {
			t.Fatal(err)
		}
		r, err := e.cl.Get(ctx, "files", name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s through the client: %d bytes, %v", name, len(got), err)
		}
		info, err := e.cl.Stat(ctx, "files", name)
		if err != nil {
			t.Fatal(err)
		}
		if info.Meta["mode"] != "100640" || info.Meta["mtime"] == "" {
			t.Fatalf("%s metadata %v", name, info.Meta)
		}

		data2 := randBytes(size+10, 2)
		name2 := "from-client-" + strconv.Itoa(size)
		mtime := time.Date(2021, 5, 6, 7, 8, 9, 123456789, time.UTC)
		if _, err := e.cl.Put(ctx, "files", "dir/"+name2, bytes.NewReader(data2), int64(len(data2)),
			&client.PutOptions{Meta: map[string]string{"mtime": "1620284889.123456789"}}); err != nil {
			t.Fatal(err)
		}
		got, err = os.ReadFile(filepath.Join(e.dir, "dir", name2))
		if err != nil || !bytes.Equal(got, data2) {
			t.Fatalf("%s through the mount: %d bytes, %v", name2, len(got), err)
		}
		st, err := os.Stat(filepath.Join(e.dir, "dir", name2))
		if err != nil || !st.ModTime().Equal(mtime) {
			t.Fatalf("rclone mtime: %v %v, want %v", st.ModTime(), err, mtime)
		}
	}
	// A file another client creates just after this mount saw it missing:
	// open(O_CREAT) without O_TRUNC opens it rather than replacing it.
	late := filepath.Join(e.dir, "late")
	if _, err := os.Stat(late); !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if _, err := e.cl.Put(ctx, "files", "late", bytes.NewReader([]byte("0123456789")), 10, nil); err != nil {
		t.Fatal(err)
	}
	lf, err := os.OpenFile(late, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	lf.WriteAt([]byte("AB"), 0)
	if err := lf.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(late); err != nil || string(b) != "AB23456789" {
		t.Fatalf("O_CREAT of a file created elsewhere: %q %v", b, err)
	}

	// An overwrite by another client shows within the TTLs (close-to-open).
	p := filepath.Join(e.dir, "changing")
	os.WriteFile(p, []byte("one"), 0o644)
	if _, err := e.cl.Put(ctx, "files", "changing", bytes.NewReader([]byte("second version")), 14, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new version through the mount", func() bool {
		b, _ := os.ReadFile(p)
		return string(b) == "second version"
	})
	if err := e.cl.Delete(ctx, "files", "changing"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deletion through the mount", func() bool {
		_, err := os.Stat(p)
		return errors.Is(err, os.ErrNotExist)
	})
}

// TestMountCommitSemantics: a file being written is never visible partly;
// fsync makes it durable and visible before close.
func TestMountCommitSemantics(t *testing.T) {
	e := startMount(t, nil)
	ctx := ctxT(t, time.Minute)
	f, err := os.Create(filepath.Join(e.dir, "big"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := randBytes(1<<20, 3)
	for i := range 5 {
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
		if _, err := e.cl.Stat(ctx, "files", "big"); !errors.Is(err, client.ErrNoSuchKey) {
			t.Fatalf("after %d MiB written, the object is visible: %v", i+1, err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	info, err := e.cl.Stat(ctx, "files", "big")
	if err != nil || info.Size != 5<<20 {
		t.Fatalf("after fsync: %d bytes, %v", info.Size, err)
	}
	// Writing on after fsync and closing gives the whole file.
	if _, err := f.Write([]byte("tail")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	info, err = e.cl.Stat(ctx, "files", "big")
	if err != nil || info.Size != 5<<20+4 {
		t.Fatalf("after close: %d bytes, %v", info.Size, err)
	}
	// No temporary objects are left.
	res, err := e.cl.List(ctx, client.ListRequest{Bucket: "files", Prefix: ".granary-tmp/"})
	if err != nil || len(res.Objects) != 0 {
		t.Fatalf("temporary objects left: %v %v", res.Objects, err)
	}
}

// TestMountSpoolLimit: random writes beyond --cache-size fail with ENOSPC;
// a sequential copy of a larger file needs no spool.
func TestMountSpoolLimit(t *testing.T) {
	e := startMount(t, func(c *mount.Config) { c.CacheSize = 2 << 20; c.MemBuffer = 64 << 10 })
	big := randBytes(6<<20, 4)
	if err := os.WriteFile(filepath.Join(e.dir, "seq"), big, 0o644); err != nil {
		t.Fatalf("sequential 6 MiB through a 2 MiB spool: %v", err)
	}
	f, err := os.OpenFile(filepath.Join(e.dir, "seq"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteAt([]byte("x"), 10)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("random write needing a 6 MiB spool of 2: %v, want ENOSPC", err)
	}
	f.Close()
	got, err := os.ReadFile(filepath.Join(e.dir, "seq"))
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("file changed by a failed write: %d bytes, %v", len(got), err)
	}
}

func TestMountReadOnly(t *testing.T) {
	e := startMount(t, nil)
	if _, err := e.cl.Put(ctxT(t, 10*time.Second), "files", "x/y", bytes.NewReader([]byte("y")), 1, nil); err != nil {
		t.Fatal(err)
	}
	_, dir := mountOn(t, e.cl, func(c *mount.Config) { c.ReadOnly = true })
	if b, err := os.ReadFile(filepath.Join(dir, "x/y")); err != nil || string(b) != "y" {
		t.Fatalf("read: %q %v", b, err)
	}
	for what, err := range map[string]error{
		"create": os.WriteFile(filepath.Join(dir, "new"), nil, 0o644),
		"mkdir":  os.Mkdir(filepath.Join(dir, "d"), 0o755),
		"unlink": os.Remove(filepath.Join(dir, "x/y")),
		"rename": os.Rename(filepath.Join(dir, "x/y"), filepath.Join(dir, "x/z")),
	} {
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("%s on a read-only mount: %v, want EROFS", what, err)
		}
	}
}

// TestMountBusy: unmounting with a file open says so, and works once it is
// closed.
func TestMountBusy(t *testing.T) {
	e := startMount(t, nil)
	f, err := os.Create(filepath.Join(e.dir, "held"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Close(); !errors.Is(err, mount.ErrBusy) {
		t.Fatalf("unmount with an open file: %v, want ErrBusy", err)
	}
	f.Close()
	if err := e.srv.Close(); err != nil {
		t.Fatalf("unmount after close: %v", err)
	}
}

// TestMountReaderCloseDoesNotCommit: a reader opening and closing a file
// another handle is writing does not make a partial object appear.
func TestMountReaderCloseDoesNotCommit(t *testing.T) {
	e := startMount(t, nil)
	p := filepath.Join(e.dir, "growing")
	w, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	chunk := randBytes(1<<20, 7)
	for range 3 {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	r, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := e.cl.Stat(ctxT(t, 10*time.Second), "files", "growing"); !errors.Is(err, client.ErrNoSuchKey) {
		t.Fatalf("a reader's close committed the file being written: %v", err)
	}
	if _, err := w.Write(chunk); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if info, err := e.cl.Stat(ctxT(t, 10*time.Second), "files", "growing"); err != nil || info.Size != 4<<20 {
		t.Fatalf("after the writer's close: %d bytes, %v", info.Size, err)
	}
}

// TestMountAttrsReachStore: attribute changes made while a file is open
// are in the store when the client library looks, whatever the order of
// the kernel's late release: a chmod and utimes by path followed by a
// rename while a reader is open reach the new name before the reader
// closes, and an fchmod through a read-only descriptor is stored by its
// close.
func TestMountAttrsReachStore(t *testing.T) {
	e := startMount(t, nil)
	ctx := ctxT(t, time.Minute)
	want := func(key, mode string, mtime time.Time) {
		t.Helper()
		info, err := e.cl.Stat(ctx, "files", key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if info.Meta["mode"] != mode || info.Meta["mtime"] != fmt.Sprintf("%d.%09d", mtime.Unix(), mtime.Nanosecond()) {
			t.Fatalf("%s: metadata %v, want mode %s, mtime %v", key, info.Meta, mode, mtime)
		}
	}

	tmp, final := filepath.Join(e.dir, ".kept.tmp"), filepath.Join(e.dir, "kept")
	if err := os.WriteFile(tmp, []byte("content"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := os.Open(tmp)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	when := time.Date(2022, 3, 4, 5, 6, 7, 890000000, time.UTC)
	if err := os.Chmod(tmp, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, when, when); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, final); err != nil {
		t.Fatal(err)
	}
	want("kept", "100644", when)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	want("kept", "100644", when)
	if _, err := e.cl.Stat(ctx, "files", ".kept.tmp"); !errors.Is(err, client.ErrNoSuchKey) {
		t.Fatalf("the old name after the rename: %v", err)
	}

	ro, err := os.Open(final)
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.Chmod(0o640); err != nil {
		t.Fatal(err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	want("kept", "100640", when)
	if got, err := os.ReadFile(final); err != nil || string(got) != "content" {
		t.Fatalf("content after the attribute changes: %q, %v", got, err)
	}
}

// TestMountSameAttrsNoCopy: setting attributes a closed file already has
// (chown to its owner, chmod to its mode, its own mtime, an xattr to its
// value) stores nothing, while a real change rewrites the object once.
func TestMountSameAttrsNoCopy(t *testing.T) {
	e := startMount(t, nil)
	p := filepath.Join(e.dir, "same")
	if err := os.WriteFile(p, []byte("same attributes"), 0o640); err != nil {
		t.Fatal(err)
	}
	when := time.Date(2020, 1, 2, 3, 4, 5, 600000000, time.UTC)
	if err := os.Chtimes(p, when, when); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setxattr(p, "user.k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, time.Minute)
	info, err := e.cl.Stat(ctx, "files", "same")
	if err != nil {
		t.Fatal(err)
	}
	// The late release of the WriteFile handle may still be pending: wait
	// for the attributes to be in the store before counting commits.
	waitFor(t, "the attributes in the store", func() bool {
		info, err = e.cl.Stat(ctx, "files", "same")
		return err == nil && info.Meta["mtime"] == "1577934245.600000000" && info.Meta["xattr-user.k"] != ""
	})
	commits := gauge(t, e.srv, "granary_mount_commits_total")
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	for what, err := range map[string]error{
		"chown":    os.Chown(p, int(sys.Uid), int(sys.Gid)),
		"chmod":    os.Chmod(p, 0o640),
		"chtimes":  os.Chtimes(p, when, when),
		"setxattr": syscall.Setxattr(p, "user.k", []byte("v"), 0),
	} {
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	if got := gauge(t, e.srv, "granary_mount_commits_total"); got != commits {
		t.Fatalf("setting the same attributes committed %v times", got-commits)
	}
	if after, err := e.cl.Stat(ctx, "files", "same"); err != nil || after.Version != info.Version {
		t.Fatalf("the object after setting the same attributes: version %v, was %v (%v)", after.Version, info.Version, err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := gauge(t, e.srv, "granary_mount_commits_total"); got != commits+1 {
		t.Fatalf("a chmod committed %v times, want once", got-commits)
	}
	if after, err := e.cl.Stat(ctx, "files", "same"); err != nil || after.Meta["mode"] != "100600" {
		t.Fatalf("after chmod 0600: %v, %v", after.Meta, err)
	}
}
