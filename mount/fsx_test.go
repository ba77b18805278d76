package mount_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/granary-store/granary/mount"
)

// TestMountFsx does random writes, truncates, reads, renames, fsyncs and
// reopenings on a few files, checking every read against an in-memory model
// and every file in full after each flush. FSX_SEED=N replays a run.
func TestMountFsx(t *testing.T) {
	e := startMount(t, func(c *mount.Config) { c.MemBuffer = 64 << 10 })
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("FSX_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	ops := 1500
	t.Logf("fsx seed %d (FSX_SEED=%d replays), %d operations", seed, seed, ops)
	rng := rand.New(rand.NewPCG(seed, 17))
	const nfiles, maxLen = 3, 1 << 20
	names := make([]string, nfiles)
	model := make([][]byte, nfiles)
	files := make([]*os.File, nfiles)
	for i := range nfiles {
		names[i] = filepath.Join(e.dir, fmt.Sprintf("fsx-%d", i))
		f, err := os.OpenFile(names[i], os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		files[i] = f
	}
	t.Cleanup(func() {
		for _, f := range files {
			f.Close()
		}
	})
	check := func(op int, i int) {
		t.Helper()
		got, err := os.ReadFile(names[i])
		if err != nil {
			t.Fatalf("op %d: read back %s: %v (seed %d)", op, names[i], err, seed)
		}
		if !bytes.Equal(got, model[i]) {
			t.Fatalf("op %d: %s has %d bytes, model %d; first difference at %d (seed %d)", op, names[i], len(got), len(model[i]), firstDiff(got, model[i]), seed)
		}
	}
	for op := range ops {
		i := rng.IntN(nfiles)
		f := files[i]
		switch k := rng.IntN(100); {
		case k < 40: // write
			var off int
			switch rng.IntN(3) {
			case 0:
				off = len(model[i]) // append
			default:
				off = rng.IntN(maxLen)
			}
			n := 1 + rng.IntN(64<<10)
			data := make([]byte, n)
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
			if _, err := f.WriteAt(data, int64(off)); err != nil {
				t.Fatalf("op %d: write %d@%d: %v (seed %d)", op, n, off, err, seed)
			}
			if end := off + n; end > len(model[i]) {
				model[i] = append(model[i], make([]byte, end-len(model[i]))...)
			}
			copy(model[i][off:], data)
		case k < 50: // truncate
			size := rng.IntN(maxLen)
			if rng.IntN(4) == 0 {
				size = 0
			}
			if err := f.Truncate(int64(size)); err != nil {
				t.Fatalf("op %d: truncate %d: %v (seed %d)", op, size, err, seed)
			}
			if size > len(model[i]) {
				model[i] = append(model[i], make([]byte, size-len(model[i]))...)
			}
			model[i] = model[i][:size]
		case k < 80: // read
			off := 0
			if len(model[i]) > 0 {
				off = rng.IntN(len(model[i]) + 1)
			}
			n := rng.IntN(256 << 10)
			buf := make([]byte, n)
			got, _ := f.ReadAt(buf, int64(off))
			want := model[i][min(off, len(model[i])):min(off+n, len(model[i]))]
			if !bytes.Equal(buf[:got], want) {
				t.Fatalf("op %d: read %d@%d of %s: got %d bytes, want %d; first difference at %d (seed %d)", op, n, off, names[i], got, len(want), firstDiff(buf[:got], want), seed)
			}
		case k < 85: // fsync
			if err := f.Sync(); err != nil {
				t.Fatalf("op %d: fsync: %v (seed %d)", op, err, seed)
			}
		case k < 93: // close, check, reopen
			if err := f.Close(); err != nil {
				t.Fatalf("op %d: close: %v (seed %d)", op, err, seed)
			}
			check(op, i)
			nf, err := os.OpenFile(names[i], os.O_RDWR, 0)
			if err != nil {
				t.Fatalf("op %d: reopen: %v (seed %d)", op, err, seed)
			}
			files[i] = nf
		default: // rename i and j into each other's names (through a third)
			j := (i + 1 + rng.IntN(nfiles-1)) % nfiles
			tmp := names[i] + ".tmp"
			for _, mv := range [][2]string{{names[i], tmp}, {names[j], names[i]}, {tmp, names[j]}} {
				if err := os.Rename(mv[0], mv[1]); err != nil {
					t.Fatalf("op %d: rename %s %s: %v (seed %d)", op, mv[0], mv[1], err, seed)
				}
			}
			files[i], files[j] = files[j], files[i]
			model[i], model[j] = model[j], model[i]
		}
	}
	for i, f := range files {
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		check(ops, i)
		info, err := e.cl.Stat(ctxT(t, 10*time.Second), "files", filepath.Base(names[i]))
		if err != nil || info.Size != int64(len(model[i])) {
			t.Fatalf("stored %s: size %d, %v; model %d", names[i], info.Size, err, len(model[i]))
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
