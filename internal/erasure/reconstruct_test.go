package erasure

import (
	"bytes"
	"errors"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// subsets returns every mask of n bits with exactly k set.
func subsets(n, k int) []uint32 {
	var out []uint32
	for m := uint32(0); m < 1<<n; m++ {
		if bits.OnesCount32(m) == k {
			out = append(out, m)
		}
	}
	return out
}

func keepOf(l Layout, mask uint32) []bool {
	keep := make([]bool, l.Shards())
	for i := range keep {
		keep[i] = mask&(1<<i) != 0
	}
	return keep
}

// checkSubset rebuilds every shard of the whole chunk from the shards in
// mask, and serves degraded ranged reads from them.
func checkSubset(t *testing.T, r *rand.Rand, l Layout, data []byte, shards [][]byte, mask uint32) {
	t.Helper()
	size := int64(len(data))
	keep := keepOf(l, mask)
	rows := l.RowCount(size)
	wOff, wLen := l.RowWindow(0, rows-1)
	got := sliceWindow(l, shards, size, wOff, wLen, keep)
	if err := l.Reconstruct(got, size, wOff, wLen); err != nil {
		t.Fatalf("%s size=%d keep=%b: %v", l, size, mask, err)
	}
	for i := range shards {
		if !bytes.Equal(got[i], shards[i]) {
			t.Fatalf("%s size=%d keep=%b: shard %d rebuilt wrong", l, size, mask, i)
		}
	}
	for _, rg := range rangesOf(r, l, size) {
		off, n := rg[0], min(rg[1], size-rg[0])
		wOff, wLen := l.Window(size, off, n)
		part := sliceWindow(l, shards, size, wOff, wLen, keep)
		if err := l.ReconstructData(part, size, wOff, wLen); err != nil {
			t.Fatalf("%s size=%d keep=%b window [%d,+%d): %v", l, size, mask, wOff, wLen, err)
		}
		for j := l.K; j < l.Shards(); j++ {
			if !keep[j] && part[j] != nil {
				t.Fatalf("ReconstructData rebuilt parity shard %d", j)
			}
		}
		dst := make([]byte, n)
		if err := l.Extract(dst, part, size, wOff, off); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(dst, data[off:off+n]) {
			t.Fatalf("%s size=%d keep=%b: degraded read [%d,+%d) differs", l, size, mask, off, n)
		}
	}
}

func TestReconstructEverySubset(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, l := range []Layout{{2, 1, 64}, {4, 2, 64}} {
		for _, size := range testSizes(l)[1:] {
			data := randBytes(r, size)
			shards, err := l.Encode(data)
			if err != nil {
				t.Fatal(err)
			}
			for _, mask := range subsets(l.Shards(), l.K) {
				checkSubset(t, r, l, data, shards, mask)
			}
		}
	}
}

func TestReconstructRS63(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	l := Layout{K: 6, M: 3, Cell: 128}
	all := subsets(l.Shards(), l.K)
	for _, size := range testSizes(l)[1:] {
		data := randBytes(r, size)
		shards, err := l.Encode(data)
		if err != nil {
			t.Fatal(err)
		}
		// All parity lost, the first data shards lost, and a few at random.
		masks := []uint32{0b000111111, 0b111111000}
		for range 4 {
			masks = append(masks, all[r.IntN(len(all))])
		}
		for _, mask := range masks {
			checkSubset(t, r, l, data, shards, mask)
		}
	}
}

func TestReconstructErrors(t *testing.T) {
	l := Layout{K: 4, M: 2, Cell: 64}
	size := 3*l.rowBytes() + 10
	data := randBytes(rand.New(rand.NewPCG(9, 10)), size)
	shards, err := l.Encode(data)
	if err != nil {
		t.Fatal(err)
	}
	wOff, wLen := l.RowWindow(0, 3)
	three := sliceWindow(l, shards, size, wOff, wLen, keepOf(l, 0b000111))
	if err := l.Reconstruct(three, size, wOff, wLen); !errors.Is(err, ErrTooFewShards) {
		t.Errorf("3 of rs-4-2: %v, want ErrTooFewShards", err)
	}
	short := sliceWindow(l, shards, size, wOff, wLen, nil)
	short[1] = short[1][:5]
	short[0] = nil
	if err := l.Reconstruct(short, size, wOff, wLen); !errors.Is(err, ErrShardSize) {
		t.Errorf("short shard: %v, want ErrShardSize", err)
	}
	for _, w := range [][2]int64{{l.ShardSize(size, 0), 64}, {-1, 64}, {0, 0}} {
		if err := l.Reconstruct(make([][]byte, 6), size, w[0], w[1]); !errors.Is(err, ErrRange) {
			t.Errorf("window %v: %v, want ErrRange", w, err)
		}
	}
	if err := l.Reconstruct(make([][]byte, 5), size, 0, 64); !errors.Is(err, ErrShardSize) {
		t.Errorf("5 shards: %v, want ErrShardSize", err)
	}
	if err := l.Extract(make([]byte, 20), shards, size, 0, size-10); !errors.Is(err, ErrRange) {
		t.Errorf("Extract past the end: %v, want ErrRange", err)
	}
}

// TestReconstructKnownZeros: a chunk smaller than one cell leaves data
// shards 1..K-1 empty, so shard 0 can be rebuilt from one parity shard
// alone (the empty shards count as present).
func TestReconstructKnownZeros(t *testing.T) {
	l := Layout{K: 4, M: 2, Cell: 64}
	data := []byte("a small chunk")
	shards, err := l.Encode(data)
	if err != nil {
		t.Fatal(err)
	}
	got := [][]byte{nil, nil, nil, nil, shards[4], nil}
	if err := l.Reconstruct(got, int64(len(data)), 0, 64); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[0], data) || !bytes.Equal(got[5], shards[5]) {
		t.Fatalf("rebuilt %q / parity 1 %x", got[0], got[5])
	}
}

func TestVerifyDetectsCorruption(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	l := Layout{K: 4, M: 2, Cell: 64}
	size := 2*l.rowBytes() + l.Cell + 17 // a short last row
	data := randBytes(r, size)
	shards, err := l.Encode(data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range shards {
		for _, at := range []int{0, len(shards[i]) / 2, len(shards[i]) - 1} {
			if len(shards[i]) == 0 {
				continue
			}
			bad := sliceWindow(l, shards, size, 0, l.ShardSize(size, 0), nil)
			bad[i] = bytes.Clone(bad[i])
			bad[i][at] ^= 0x40
			err := l.Verify(bad, size, 0, l.ShardSize(size, 0))
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("shard %d byte %d flipped: Verify = %v, want ErrCorrupt", i, at, err)
			}
		}
	}
	missing := sliceWindow(l, shards, size, 0, l.ShardSize(size, 0), keepOf(l, 0b111110))
	if err := l.Verify(missing, size, 0, l.ShardSize(size, 0)); !errors.Is(err, ErrTooFewShards) {
		t.Errorf("Verify without shard 0: %v", err)
	}
	// Rows are verified independently: row 1 alone is clean.
	wOff, wLen := l.RowWindow(1, 1)
	if err := l.Verify(sliceWindow(l, shards, size, wOff, wLen, nil), size, wOff, wLen); err != nil {
		t.Errorf("Verify row 1: %v", err)
	}
}
