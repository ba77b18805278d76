package mount_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestMountSmoke(t *testing.T) {
	e := startMount(t, nil)
	p := filepath.Join(e.dir, "hello.txt")
	if err := os.WriteFile(p, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(b, []byte("hello")) {
		t.Fatalf("read %q %v", b, err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 300000)
	if err := os.WriteFile(filepath.Join(e.dir, "big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err = os.ReadFile(filepath.Join(e.dir, "big"))
	if err != nil || !bytes.Equal(b, big) {
		t.Fatalf("big: %d bytes %v", len(b), err)
	}
	if err := os.MkdirAll(filepath.Join(e.dir, "a/b/c"), 0o755); err != nil {
		t.Fatal(err)
	}
	des, err := os.ReadDir(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range des {
		names = append(names, d.Name())
	}
	t.Log(names)
	if len(names) != 3 {
		t.Fatalf("names %v", names)
	}
}
