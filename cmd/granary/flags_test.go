package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSizeFlagRoundTrip(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{{0, "0B"}, {1, "1B"}, {1536, "1536B"}, {4 << 10, "4KiB"}, {64 << 20, "64MiB"}, {3 << 30, "3GiB"}} {
		n := c.n
		got := sizeFlag{&n}.String()
		if got != c.want {
			t.Errorf("String(%d) = %q, want %q", c.n, got, c.want)
		}
		var back int64
		if err := (sizeFlag{&back}).Set(got); err != nil || back != c.n {
			t.Errorf("Set(%q) = %d, %v; want %d", got, back, err, c.n)
		}
	}
	var n int64
	if err := (sizeFlag{&n}).Set("12parsecs"); err == nil {
		t.Error("Set(12parsecs) succeeded")
	}
}

func TestReadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node-id")
	calls := 0
	gen := func() string { calls++; return "cs-1234" }
	first, err := readOrCreate(path, "node id", gen)
	if err != nil || first != "cs-1234" {
		t.Fatalf("first readOrCreate = %q, %v", first, err)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("file mode: %v, %v", st, err)
	}
	again, err := readOrCreate(path, "node id", gen)
	if err != nil || again != first || calls != 1 {
		t.Fatalf("second readOrCreate = %q, %v after %d generations; want %q from the file", again, err, calls, first)
	}
}
