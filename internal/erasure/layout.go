package erasure

import "fmt"

// Bounds of a Layout.
const (
	// MaxShards bounds K+M. Thirty-two shards is far past any useful
	// stripe (each shard needs its own server) and keeps the decode
	// matrices small.
	MaxShards = 32
	// CellAlign is the granularity of Cell: SIMD Galois-field kernels
	// work on 64-byte blocks, and aligned cells keep every row on them.
	CellAlign = 64
	// MaxCell bounds Cell; the Encoder holds (K+M)*Cell bytes.
	MaxCell = 16 << 20
	// DefaultCell is the recommended cell size, as HDFS's: BenchmarkEncode
	// measures 256 KiB and 1 MiB cells within noise of each other in CPU
	// per GiB (about a copy plus CRC-32C of the data), a healthy ranged
	// read of up to 1 MiB then touches one or two servers, and the
	// Encoder holds (K+M) MiB. Degraded reads cost the same for any cell
	// size (see Window).
	DefaultCell = 1 << 20
)

// Layout is a cell-striped Reed-Solomon layout: K data shards, M parity
// shards, cells of Cell bytes. The zero Layout is invalid.
type Layout struct {
	K, M int   // data and parity shards
	Cell int64 // bytes per cell
}

// Span is a piece of a data shard that holds data bytes: Len bytes at
// shard offset Off are data bytes [DataOff, DataOff+Len).
type Span struct {
	Shard   int
	Off     int64
	Len     int64
	DataOff int64
}

// Validate checks 1 <= K, 1 <= M, K+M <= MaxShards, and that Cell is a
// positive multiple of CellAlign no larger than MaxCell.
func (l Layout) Validate() error {
	switch {
	case l.K < 1 || l.M < 1:
		return fmt.Errorf("%w: K=%d M=%d: both must be at least 1", ErrLayout, l.K, l.M)
	case l.K+l.M > MaxShards:
		return fmt.Errorf("%w: K+M=%d exceeds %d", ErrLayout, l.K+l.M, MaxShards)
	case l.Cell <= 0 || l.Cell%CellAlign != 0 || l.Cell > MaxCell:
		return fmt.Errorf("%w: cell %d must be a multiple of %d in (0, %d]", ErrLayout, l.Cell, CellAlign, MaxCell)
	}
	return nil
}

// Shards is K+M.
func (l Layout) Shards() int { return l.K + l.M }

// String is "rs-K-M/CELL".
func (l Layout) String() string { return fmt.Sprintf("rs-%d-%d/%d", l.K, l.M, l.Cell) }

// rowBytes is the number of data bytes in a full row.
func (l Layout) rowBytes() int64 { return int64(l.K) * l.Cell }

// RowCount is the number of rows of a chunk of dataLen bytes.
func (l Layout) RowCount(dataLen int64) int64 {
	if dataLen <= 0 {
		return 0
	}
	return (dataLen + l.rowBytes() - 1) / l.rowBytes()
}

// ShardSize is the number of bytes shard (0..K-1 data, K..K+M-1 parity)
// stores for a chunk of dataLen bytes: see the package doc. It is zero for
// a shard index out of range.
func (l Layout) ShardSize(dataLen int64, shard int) int64 {
	if shard < 0 || shard >= l.Shards() || dataLen <= 0 {
		return 0
	}
	if shard >= l.K {
		shard = 0 // parity is as long as data shard 0
	}
	full := dataLen / l.rowBytes()
	last := dataLen - full*l.rowBytes() - int64(shard)*l.Cell
	return full*l.Cell + min(max(last, 0), l.Cell)
}

// Rows returns the first and last (inclusive) rows holding data bytes
// [off, off+n), clipped to the data. An empty range returns (0, -1).
func (l Layout) Rows(dataLen, off, n int64) (first, last int64) {
	end := min(off+n, dataLen)
	if off < 0 || n <= 0 || off >= end {
		return 0, -1
	}
	return off / l.rowBytes(), (end - 1) / l.rowBytes()
}

// RowWindow is the shard window of rows first..last (inclusive):
// [first*Cell, (last+1)*Cell). A repair walks a shard in row windows.
func (l Layout) RowWindow(first, last int64) (off, n int64) {
	return first * l.Cell, (last - first + 1) * l.Cell
}

// Window returns the smallest shard window [off, off+n) that holds every
// data byte of [off, off+n) in data space: the same byte range, in every
// shard, that a degraded read fetches from K shards. A read inside one
// cell gets a window of its own length, so a 4 KiB degraded read fetches
// 4 KiB from each of K shards. An empty range returns (0, 0).
func (l Layout) Window(dataLen, off, n int64) (wOff, wLen int64) {
	spans := l.Spans(dataLen, off, n)
	if len(spans) == 0 {
		return 0, 0
	}
	lo, hi := spans[0].Off, spans[0].Off+spans[0].Len
	for _, s := range spans[1:] {
		lo, hi = min(lo, s.Off), max(hi, s.Off+s.Len)
	}
	return lo, hi - lo
}

// ShardRange returns the bytes [off, off+n) of shard that lie in the
// shard window [wOff, wOff+wLen): n is clipped to the shard's size, so it
// is shorter for a shard whose last cell is short, and zero for a shard
// that ends before the window (off is then clipped to the shard's size
// too, so shard[off:off+n] is always a valid slice). Reconstruct, Verify
// and Extract take shard slices of exactly these ranges.
func (l Layout) ShardRange(dataLen int64, shard int, wOff, wLen int64) (off, n int64) {
	size := l.ShardSize(dataLen, shard)
	off = min(max(wOff, 0), size)
	return off, max(min(wOff+wLen, size)-off, 0)
}

// Spans returns the pieces of data shards that hold data bytes
// [off, off+n), clipped to dataLen, in data order: one span per cell
// touched. A healthy read reads exactly these. Consecutive spans of one
// shard are adjacent in that shard (a span of shard i ends where the next
// span of shard i starts), so a reader may fetch each shard's spans with
// one ranged request. An empty or invalid range yields no spans.
func (l Layout) Spans(dataLen, off, n int64) []Span {
	end := min(off+n, dataLen)
	if off < 0 || n <= 0 || off >= end {
		return nil
	}
	spans := make([]Span, 0, (end-off)/l.Cell+2)
	for pos := off; pos < end; {
		c := pos / l.Cell
		in := pos % l.Cell
		ln := min(l.Cell-in, end-pos)
		spans = append(spans, Span{
			Shard:   int(c % int64(l.K)),
			Off:     c/int64(l.K)*l.Cell + in,
			Len:     ln,
			DataOff: pos,
		})
		pos += ln
	}
	return spans
}

// Extract copies data bytes [off, off+len(dst)) into dst from data shard
// slices of the shard window starting at wOff (each shards[i] is the
// ShardRange of shard i, as Reconstruct takes and fills). Only the data
// shards the range touches need be non-nil.
func (l Layout) Extract(dst []byte, shards [][]byte, dataLen, wOff, off int64) error {
	if off < 0 || off+int64(len(dst)) > dataLen {
		return fmt.Errorf("%w: [%d, %d) of %d bytes", ErrRange, off, off+int64(len(dst)), dataLen)
	}
	if len(shards) < l.K {
		return fmt.Errorf("%w: %d shards, want at least %d", ErrShardSize, len(shards), l.K)
	}
	for _, s := range l.Spans(dataLen, off, int64(len(dst))) {
		src := shards[s.Shard]
		lo := s.Off - wOff
		if lo < 0 || lo+s.Len > int64(len(src)) {
			return fmt.Errorf("%w: shard %d holds %d bytes from %d, need [%d, %d)",
				ErrShardSize, s.Shard, len(src), wOff, s.Off, s.Off+s.Len)
		}
		copy(dst[s.DataOff-off:], src[lo:lo+s.Len])
	}
	return nil
}
