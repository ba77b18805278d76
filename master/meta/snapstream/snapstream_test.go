package snapstream

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func write(t *testing.T, index uint64, recs [][2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf, index)
	for _, r := range recs {
		if err := w.Record([]byte(r[0]), []byte(r[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readAll(b []byte) (uint64, [][2]string, error) {
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	var recs [][2]string
	for {
		k, v, err := r.Next()
		if errors.Is(err, io.EOF) {
			return r.Index, recs, nil
		}
		if err != nil {
			return r.Index, recs, err
		}
		recs = append(recs, [2]string{string(k), string(v)})
	}
}

// TestLayout checks the bytes of a small stream against the format in
// the package doc, and that a Reader gives back what was written.
func TestLayout(t *testing.T) {
	recs := [][2]string{{"b/x", "1"}, {"o/x/k", ""}}
	got := write(t, 7, recs)
	want := append([]byte("GRSNAP01"), 0, 0, 0, 0, 0, 0, 0, 7, 3, 'b', '/', 'x', 1, '1', 5, 'o', '/', 'x', '/', 'k', 0, 0)
	if !bytes.Equal(got[:len(got)-4], want) {
		t.Fatalf("stream\n%q\nwant\n%q", got[:len(got)-4], want)
	}
	index, back, err := readAll(got)
	if err != nil || index != 7 || len(back) != 2 || back[0] != recs[0] || back[1] != recs[1] {
		t.Fatalf("read back %d %q %v", index, back, err)
	}
}

// TestDamageIsRefused flips every byte of a stream in turn and cuts it at
// every length: each read fails, and a flip is ErrCorrupt or a read error,
// never a clean end.
func TestDamageIsRefused(t *testing.T) {
	good := write(t, 42, [][2]string{{"a", "apple"}, {"b", "banana"}, {"c", ""}})
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x40
		if _, _, err := readAll(bad); err == nil {
			t.Errorf("byte %d flipped: read cleanly", i)
		}
	}
	for n := range len(good) {
		if _, _, err := readAll(good[:n]); err == nil {
			t.Errorf("cut at %d of %d: read cleanly", n, len(good))
		}
	}
	if _, _, err := readAll(append([]byte("GRSNAP02"), good[8:]...)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("unknown magic: %v, want ErrCorrupt", err)
	}
}
