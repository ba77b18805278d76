package erasure

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/reedsolomon"
)

// testSizes are the chunk sizes every layout test walks: empty, one byte,
// around a cell, around a row, several rows with a short last shard.
func testSizes(l Layout) []int64 {
	c, row := l.Cell, l.rowBytes()
	return []int64{0, 1, c - 1, c, c + 1, 2*c + 7, row - 1, row, row + 1,
		3*row - c - 1, 3 * row, 3*row + c/2, 4*row + (int64(l.K)-1)*c + 3}
}

func randBytes(r *rand.Rand, n int64) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// reference encodes data the slow, obvious way: cell c goes to data shard
// c mod K; each row's parity is computed over the row's data cells padded
// with zeros to the width of shard 0's cell.
func reference(t *testing.T, l Layout, data []byte) [][]byte {
	t.Helper()
	shards := make([][]byte, l.Shards())
	for i := range shards {
		shards[i] = []byte{}
	}
	rs, err := reedsolomon.New(l.K, l.M)
	if err != nil {
		t.Fatal(err)
	}
	for start := int64(0); start < int64(len(data)); start += l.rowBytes() {
		row := data[start:min(start+l.rowBytes(), int64(len(data)))]
		width := min(int64(len(row)), l.Cell)
		cells := make([][]byte, l.Shards())
		for i := range cells {
			cells[i] = make([]byte, width)
		}
		for i := range l.K {
			lo := min(int64(i)*l.Cell, int64(len(row)))
			hi := min(lo+l.Cell, int64(len(row)))
			copy(cells[i], row[lo:hi])
			shards[i] = append(shards[i], row[lo:hi]...)
		}
		if err := rs.Encode(cells); err != nil {
			t.Fatal(err)
		}
		for j := range l.M {
			shards[l.K+j] = append(shards[l.K+j], cells[l.K+j]...)
		}
	}
	return shards
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		l  Layout
		ok bool
	}{
		{Layout{K: 4, M: 2, Cell: DefaultCell}, true},
		{Layout{K: 1, M: 1, Cell: 64}, true},
		{Layout{K: 16, M: 16, Cell: MaxCell}, true},
		{Layout{K: 0, M: 2, Cell: 64}, false},
		{Layout{K: 2, M: 0, Cell: 64}, false},
		{Layout{K: 17, M: 16, Cell: 64}, false},
		{Layout{K: 4, M: 2, Cell: 0}, false},
		{Layout{K: 4, M: 2, Cell: 100}, false},
		{Layout{K: 4, M: 2, Cell: MaxCell + 64}, false},
		{Layout{}, false},
	} {
		err := tc.l.Validate()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrLayout)) {
			t.Errorf("%+v: Validate = %v, want ok=%v", tc.l, err, tc.ok)
		}
	}
}

func TestShardSizeExample(t *testing.T) {
	// The package doc's example: K=4, M=2, 9.5 cells.
	l := Layout{K: 4, M: 2, Cell: 64}
	n := int64(9*64 + 32)
	want := []int64{3 * 64, 2*64 + 32, 2 * 64, 2 * 64, 2*64 + 64, 2*64 + 64}
	for i, w := range want {
		if got := l.ShardSize(n, i); got != w {
			t.Errorf("ShardSize(%d, %d) = %d, want %d", n, i, got, w)
		}
	}
	if got := l.RowCount(n); got != 3 {
		t.Errorf("RowCount = %d, want 3", got)
	}
	if f, la := l.Rows(n, 4*64, 4*64+1); f != 1 || la != 2 {
		t.Errorf("Rows = %d..%d, want 1..2", f, la)
	}
	if f, la := l.Rows(n, n, 10); f != 0 || la != -1 {
		t.Errorf("Rows past the end = %d..%d, want 0..-1", f, la)
	}
	wOff, wLen := l.RowWindow(1, 2)
	if off, m := l.ShardRange(n, 2, wOff, wLen); off != 64 || m != 64 {
		t.Errorf("ShardRange(shard 2, rows 1..2) = %d+%d, want 64+64", off, m)
	}
	if off, m := l.Window(n, 4*64+10, 20); off != 64+10 || m != 20 {
		t.Errorf("Window of 20 bytes in cell 4 = %d+%d, want 74+20", off, m)
	}
	if off, m := l.Window(n, 64+60, 8); off != 0 || m != 64 {
		t.Errorf("Window across cells 1 and 2 = %d+%d, want 0+64", off, m)
	}
}

// TestEncodeMatchesReference checks Encode, ShardSize and the layout
// against the reference model for every test size and a few layouts.
func TestEncodeMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, l := range []Layout{{2, 1, 64}, {4, 2, 128}, {6, 3, 64}, {3, 1, 256}} {
		for _, n := range testSizes(l) {
			data := randBytes(r, n)
			got, err := l.Encode(data)
			if err != nil {
				t.Fatalf("%s n=%d: %v", l, n, err)
			}
			want := reference(t, l, data)
			var sum int64
			for i := range got {
				if int64(len(got[i])) != l.ShardSize(n, i) {
					t.Errorf("%s n=%d shard %d: %d bytes, ShardSize %d", l, n, i, len(got[i]), l.ShardSize(n, i))
				}
				if !bytes.Equal(got[i], want[i]) {
					t.Errorf("%s n=%d shard %d differs from the reference", l, n, i)
				}
				if i < l.K {
					sum += int64(len(got[i]))
				}
			}
			if sum != n {
				t.Errorf("%s n=%d: data shards hold %d bytes", l, n, sum)
			}
			if n > 0 {
				if err := l.Verify(got, n, 0, l.ShardSize(n, 0)); err != nil {
					t.Errorf("%s n=%d: Verify: %v", l, n, err)
				}
			}
		}
	}
}

// rangesOf returns (off, n) pairs around every cell boundary plus random
// ones, covering reads inside a cell, across cells, across rows and past
// the end.
func rangesOf(r *rand.Rand, l Layout, size int64) [][2]int64 {
	var offs []int64
	for b := int64(0); b <= size; b += l.Cell {
		for _, d := range []int64{-1, 0, 1} {
			if o := b + d; o >= 0 && o < size {
				offs = append(offs, o)
			}
		}
	}
	lens := []int64{1, 2, l.Cell - 1, l.Cell, l.Cell + 1, l.rowBytes(), l.rowBytes() + 3, size}
	var out [][2]int64
	for _, o := range offs {
		for _, n := range lens {
			out = append(out, [2]int64{o, n})
		}
	}
	for range 20 {
		if size > 0 {
			o := r.Int64N(size)
			out = append(out, [2]int64{o, 1 + r.Int64N(size-o)})
		}
	}
	return out
}

func TestSpansReadEveryRange(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, l := range []Layout{{2, 1, 64}, {4, 2, 64}, {6, 3, 128}} {
		for _, size := range testSizes(l) {
			data := randBytes(r, size)
			shards, err := l.Encode(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, rg := range rangesOf(r, l, size) {
				off, n := rg[0], rg[1]
				want := data[off:min(off+n, size)]
				var got []byte
				last := map[int]int64{}
				for _, s := range l.Spans(size, off, n) {
					if s.DataOff != off+int64(len(got)) {
						t.Fatalf("%s size=%d [%d,+%d): span %+v out of order", l, size, off, n, s)
					}
					if end, ok := last[s.Shard]; ok && end != s.Off {
						t.Fatalf("%s: span %+v not adjacent to the shard's previous span", l, s)
					}
					last[s.Shard] = s.Off + s.Len
					got = append(got, shards[s.Shard][s.Off:s.Off+s.Len]...)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s size=%d: Spans read of [%d,+%d) differs", l, size, off, n)
				}
				first, lastRow := l.Rows(size, off, n)
				if len(want) > 0 {
					for _, w := range [][2]int64{pair(l.RowWindow(first, lastRow)), pair(l.Window(size, off, n))} {
						got := make([]byte, len(want))
						part := sliceWindow(l, shards, size, w[0], w[1], nil)
						if err := l.Extract(got, part, size, w[0], off); err != nil || !bytes.Equal(got, want) {
							t.Fatalf("%s size=%d: Extract of [%d,+%d) from window %v: %v", l, size, off, n, w, err)
						}
					}
					if off/l.Cell == (off+int64(len(want))-1)/l.Cell {
						if _, wl := l.Window(size, off, n); wl != int64(len(want)) {
							t.Fatalf("%s: read [%d,+%d) inside one cell has a window of %d bytes", l, off, len(want), wl)
						}
					}
				}
			}
			if got := l.Spans(size, -1, 5); got != nil {
				t.Errorf("negative offset: %v", got)
			}
		}
	}
}

func pair(a, b int64) [2]int64 { return [2]int64{a, b} }

// sliceWindow cuts each shard's ShardRange of a shard window, leaving
// shards not in keep nil (keep nil keeps all).
func sliceWindow(l Layout, shards [][]byte, size, wOff, wLen int64, keep []bool) [][]byte {
	out := make([][]byte, len(shards))
	for i := range shards {
		if keep != nil && !keep[i] {
			continue
		}
		off, n := l.ShardRange(size, i, wOff, wLen)
		out[i] = shards[i][off : off+n]
	}
	return out
}
