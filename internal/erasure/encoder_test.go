package erasure

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

// TestEncoderOddWrites streams data in irregular write sizes and compares
// the shards with a one-shot Encode.
func TestEncoderOddWrites(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, l := range []Layout{{2, 1, 64}, {4, 2, 128}, {6, 3, 64}} {
		for _, size := range testSizes(l) {
			data := randBytes(r, size)
			want, err := l.Encode(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, step := range []int{1, 7, 63, 64, 65, 1000, int(size) + 1} {
				bufs := make([]bytes.Buffer, l.Shards())
				ws := make([]io.Writer, len(bufs))
				for i := range bufs {
					ws[i] = &bufs[i]
				}
				e, err := NewEncoder(l, ws)
				if err != nil {
					t.Fatal(err)
				}
				for p := data; len(p) > 0; {
					n := min(step+r.IntN(3), len(p))
					if m, err := e.Write(p[:n]); m != n || err != nil {
						t.Fatalf("Write = %d, %v", m, err)
					}
					p = p[n:]
				}
				if e.Written() != size {
					t.Fatalf("Written = %d, want %d", e.Written(), size)
				}
				if err := e.Close(); err != nil {
					t.Fatal(err)
				}
				if err := e.Close(); err != nil {
					t.Fatalf("second Close: %v", err)
				}
				for i := range bufs {
					if !bytes.Equal(bufs[i].Bytes(), want[i]) {
						t.Fatalf("%s size=%d step=%d: shard %d differs", l, size, step, i)
					}
				}
			}
		}
	}
}

// boundedWriter records the largest single write, to show the Encoder
// writes at most one cell per call.
type boundedWriter struct{ max int }

func (w *boundedWriter) Write(p []byte) (int, error) {
	w.max = max(w.max, len(p))
	return len(p), nil
}

func TestEncoderWritesCells(t *testing.T) {
	l := Layout{K: 4, M: 2, Cell: 64}
	ws := make([]io.Writer, l.Shards())
	bw := make([]*boundedWriter, l.Shards())
	for i := range ws {
		bw[i] = &boundedWriter{}
		ws[i] = bw[i]
	}
	e, err := NewEncoder(l, ws)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Write(make([]byte, 10*l.rowBytes())); err != nil {
		t.Fatal(err)
	}
	for i, w := range bw {
		if w.max != int(l.Cell) {
			t.Errorf("shard %d: largest write %d, want one cell", i, w.max)
		}
	}
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, io.ErrClosedPipe
	}
	w.after--
	return len(p), nil
}

func TestEncoderShardError(t *testing.T) {
	l := Layout{K: 2, M: 1, Cell: 64}
	ws := []io.Writer{io.Discard, io.Discard, &failWriter{after: 1}}
	e, err := NewEncoder(l, ws)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Write(make([]byte, l.rowBytes())); err != nil {
		t.Fatalf("first row: %v", err)
	}
	_, err = e.Write(make([]byte, l.rowBytes()))
	var se *ShardError
	if !errors.As(err, &se) || se.Shard != 2 || !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("second row: %v, want a ShardError for shard 2", err)
	}
	if _, err2 := e.Write([]byte{1}); !errors.Is(err2, io.ErrClosedPipe) {
		t.Errorf("Write after failure: %v", err2)
	}
	if err2 := e.Close(); !errors.Is(err2, io.ErrClosedPipe) {
		t.Errorf("Close after failure: %v", err2)
	}
	if _, err := NewEncoder(l, ws[:2]); !errors.Is(err, ErrShardSize) {
		t.Errorf("two writers for rs-2-1: %v", err)
	}
	if _, err := NewEncoder(Layout{K: 2, M: 1, Cell: 10}, ws); !errors.Is(err, ErrLayout) {
		t.Errorf("bad cell: %v", err)
	}
}
