package mount_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/granary-store/granary/client"
)

// versionsOf lists the versions of key, newest first.
func versionsOf(ctx context.Context, t *testing.T, cl *client.Client, key string) []client.ObjectVersion {
	t.Helper()
	res, err := cl.ListVersions(ctx, client.VersionsRequest{Bucket: "files", Prefix: key})
	if err != nil {
		t.Fatal(err)
	}
	var vs []client.ObjectVersion
	for _, v := range res.Versions {
		if v.Key == key {
			vs = append(vs, v)
		}
	}
	return vs
}

// TestMountVersionedBucket: in a versioned bucket a rename behaves as an
// S3 client's copy and delete (the new name gets a new version, the old
// one a delete marker, older versions stay listable), a directory rename
// is EXDEV so mv copies it file by file with the same result, and chmod
// makes a new version holding the new mode.
func TestMountVersionedBucket(t *testing.T) {
	e := startMount(t, nil)
	ctx := ctxT(t, 2*time.Minute)
	if err := e.cl.SetVersioning(ctx, "files", client.VersioningEnabled); err != nil {
		t.Fatal(err)
	}
	a, b := filepath.Join(e.dir, "a"), filepath.Join(e.dir, "b")
	for _, s := range []string{"one", "two, longer"} {
		if err := os.WriteFile(a, []byte(s), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(a, b); err != nil {
		t.Fatalf("rename in a versioned bucket: %v", err)
	}
	if got, err := os.ReadFile(b); err != nil || string(got) != "two, longer" {
		t.Fatalf("renamed file: %q %v", got, err)
	}
	if _, err := os.Stat(a); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old name after the rename: %v", err)
	}
	if got := readKey(ctx, t, e.cl, "b"); string(got) != "two, longer" {
		t.Fatalf("b through the client: %q", got)
	}
	va := versionsOf(ctx, t, e.cl, "a")
	if len(va) != 3 || !va[0].DeleteMarker || !va[0].IsLatest || va[1].DeleteMarker || va[2].DeleteMarker || va[1].Size != 11 || va[2].Size != 3 {
		t.Fatalf("versions of a: %+v, want a delete marker over both versions written", va)
	}
	vb := versionsOf(ctx, t, e.cl, "b")
	if len(vb) != 1 || !vb[0].IsLatest || vb[0].Size != 11 || vb[0].Meta["mode"] != "100640" {
		t.Fatalf("versions of b: %+v, want one with a's bytes and mode", vb)
	}

	// chmod: a new version with the mode, the bytes unchanged.
	if err := os.Chmod(b, 0o600); err != nil {
		t.Fatal(err)
	}
	vb = versionsOf(ctx, t, e.cl, "b")
	if len(vb) != 2 || vb[0].Meta["mode"] != "100600" || vb[1].Meta["mode"] != "100640" {
		t.Fatalf("versions of b after chmod: %+v", vb)
	}
	if got := readKey(ctx, t, e.cl, "b"); string(got) != "two, longer" {
		t.Fatalf("b after chmod: %q", got)
	}

	// A directory: rename(2) refuses with EXDEV and moves nothing; mv
	// copies it instead.
	d := filepath.Join(e.dir, "d")
	if err := os.MkdirAll(filepath.Join(d, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"x": "ex", "sub/y": "why"} {
		if err := os.WriteFile(filepath.Join(d, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Rename(d, filepath.Join(e.dir, "e")); !errors.Is(err, syscall.EXDEV) {
		t.Fatalf("rename of a directory in a versioned bucket: %v, want EXDEV", err)
	}
	if got := readKey(ctx, t, e.cl, "d/x"); string(got) != "ex" {
		t.Fatalf("d/x after the refused rename: %q", got)
	}
	run(t, e.dir, nil, "mv", "d", "e")
	for name, s := range map[string]string{"e/x": "ex", "e/sub/y": "why"} {
		if got, err := os.ReadFile(filepath.Join(e.dir, name)); err != nil || string(got) != s {
			t.Fatalf("%s after mv: %q %v", name, got, err)
		}
	}
	if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old directory after mv: %v", err)
	}
	vx := versionsOf(ctx, t, e.cl, "d/x")
	if len(vx) != 2 || !vx[0].DeleteMarker || vx[1].DeleteMarker {
		t.Fatalf("versions of d/x after mv: %+v, want a delete marker over the file", vx)
	}
}
