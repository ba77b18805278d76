package mount_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
)

// TestMountCloseRenameRace closes a file being written at the same moment
// as it, or its directory, is renamed, many times over: the commit of the
// close must land under the file's new name (never bring the old name or
// directory back, never lose the bytes), whichever of the two the kernel
// serves first. Files are new or rewritten, small (in memory), large
// (streamed) or rewritten in place (spooled); the last round runs in a
// versioned bucket.
func TestMountCloseRenameRace(t *testing.T) {
	e := startMount(t, nil)
	ctx := ctxT(t, 4*time.Minute)
	type shape struct {
		dir   bool // rename the directory, not the file
		fresh bool // a new file, not a rewrite of a stored one
		size  int
		spool bool // written twice at offset 0: spooled
	}
	var shapes []shape
	for _, dir := range []bool{false, true} {
		for _, fresh := range []bool{false, true} {
			shapes = append(shapes, shape{dir, fresh, 100, false}, shape{dir, fresh, 3<<20 + 5, false}, shape{dir, fresh, 1<<20 + 9, true})
		}
	}
	// Three rounds, then one in a versioned bucket, where a file rename is
	// a copy and a delete (a directory rename is EXDEV there: not raced).
	const rounds = 4
	for r := range rounds {
		if r == rounds-1 {
			if err := e.cl.SetVersioning(ctx, "files", client.VersioningEnabled); err != nil {
				t.Fatal(err)
			}
		}
		for i, s := range shapes {
			if r == rounds-1 && s.dir {
				continue
			}
			name := fmt.Sprintf("r%d-%d", r, i)
			t.Run(name, func(t *testing.T) {
				base := filepath.Join(e.dir, name)
				if err := os.MkdirAll(filepath.Join(base, "d"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(base, "d", "other"), []byte("other"), 0o644); err != nil {
					t.Fatal(err)
				}
				file := filepath.Join(base, "d", "f")
				if !s.fresh {
					if err := os.WriteFile(file, []byte("the old bytes"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				data := randBytes(s.size, uint64(r*100+i))
				f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
				if err != nil {
					t.Fatal(err)
				}
				if s.spool {
					if _, err := f.Write(bytes.Repeat([]byte{'x'}, s.size)); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := f.WriteAt(data, 0); err != nil {
					t.Fatal(err)
				}
				from, to := file, filepath.Join(base, "d", "g")
				oldKey, newKey := name+"/d/f", name+"/d/g"
				if s.dir {
					from, to = filepath.Join(base, "d"), filepath.Join(base, "e")
					newKey = name + "/e/f"
				}
				var wg sync.WaitGroup
				var closeErr, renameErr error
				start := make(chan struct{})
				wg.Add(2)
				go func() { defer wg.Done(); <-start; closeErr = f.Close() }()
				go func() { defer wg.Done(); <-start; renameErr = os.Rename(from, to) }()
				close(start)
				wg.Wait()
				if closeErr != nil || renameErr != nil {
					t.Fatalf("close: %v; rename: %v", closeErr, renameErr)
				}
				if _, err := e.cl.Stat(ctx, "files", oldKey); !errors.Is(err, client.ErrNoSuchKey) {
					t.Errorf("old key %s: %v, want no such key (the old name came back)", oldKey, err)
				}
				if s.dir {
					res, err := e.cl.List(ctx, client.ListRequest{Bucket: "files", Prefix: name + "/d/"})
					if err != nil || len(res.Objects) != 0 {
						t.Errorf("old directory %s/d/ holds %d keys, err %v: it came back", name, len(res.Objects), err)
					}
					if got := readKey(ctx, t, e.cl, name+"/e/other"); string(got) != "other" {
						t.Errorf("moved sibling: %q", got)
					}
				}
				if got := readKey(ctx, t, e.cl, newKey); !bytes.Equal(got, data) {
					t.Fatalf("%s holds %d bytes, want the %d written", newKey, len(got), len(data))
				}
				moved := to
				if s.dir {
					moved = filepath.Join(to, "f")
				}
				if got, err := os.ReadFile(moved); err != nil || !bytes.Equal(got, data) {
					t.Fatalf("through the mount after the rename: %d bytes, %v", len(got), err)
				}
			})
		}
	}
}

// readKey reads an object through the client library (nil when missing).
func readKey(ctx context.Context, t *testing.T, cl *client.Client, key string) []byte {
	t.Helper()
	r, err := cl.Get(ctx, "files", key)
	if errors.Is(err, client.ErrNoSuchKey) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestMountMkdirRenameRace makes directories deep in a tree, one after the
// other, while the tree's top is renamed: every mkdir that succeeded is
// under the new name, and the old name never comes back (a marker stored
// under a key chosen before the move would bring it back).
func TestMountMkdirRenameRace(t *testing.T) {
	e := startMount(t, nil)
	ctx := ctxT(t, 3*time.Minute)
	for r := range 8 {
		name := fmt.Sprintf("m%d", r)
		base := filepath.Join(e.dir, name)
		if err := os.MkdirAll(filepath.Join(base, "a", "b"), 0o755); err != nil {
			t.Fatal(err)
		}
		var made []string
		var once sync.Once
		going := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 1000; i++ {
				d := fmt.Sprintf("d%d", i)
				err := os.Mkdir(filepath.Join(base, "a", "b", d), 0o755)
				if i == 1 {
					once.Do(func() { close(going) })
				}
				if err != nil {
					return // the tree moved away: its old path is gone
				}
				made = append(made, d)
			}
		}()
		<-going
		renameErr := os.Rename(filepath.Join(base, "a"), filepath.Join(base, "c"))
		<-done
		if renameErr != nil {
			t.Fatalf("round %d: rename: %v", r, renameErr)
		}
		res, err := e.cl.List(ctx, client.ListRequest{Bucket: "files", Prefix: name + "/a/"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Objects) != 0 {
			t.Errorf("round %d: the old directory came back: %s and %d more", r, res.Objects[0].Key, len(res.Objects)-1)
		}
		for _, d := range made {
			if _, err := e.cl.Stat(ctx, "files", name+"/c/b/"+d+"/"); err != nil {
				t.Errorf("round %d: %s made before or during the rename is not under the new name: %v", r, d, err)
			}
		}
		t.Logf("round %d: %d directories made", r, len(made))
	}
}
