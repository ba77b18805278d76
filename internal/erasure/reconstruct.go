package erasure

import "fmt"

// rowSet is the per-call state of Reconstruct and Verify over rows
// first..last of a chunk of dataLen bytes.
type rowSet struct {
	l            Layout
	dataLen      int64
	first, last  int64
	want         []int64 // ShardRange length of each shard
	present      []bool
	presentCount int
}

// checkRows validates the layout, the row range and the shard slices.
func (l Layout) checkRows(shards [][]byte, dataLen, first, last int64) (*rowSet, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if len(shards) != l.Shards() {
		return nil, fmt.Errorf("%w: %d shards for %s", ErrShardSize, len(shards), l)
	}
	if first < 0 || last >= l.RowCount(dataLen) || first > last {
		return nil, fmt.Errorf("%w: rows %d..%d of %d", ErrRange, first, last, l.RowCount(dataLen))
	}
	rs := &rowSet{l: l, dataLen: dataLen, first: first, last: last,
		want: make([]int64, len(shards)), present: make([]bool, len(shards))}
	for i, s := range shards {
		_, rs.want[i] = l.ShardRange(dataLen, i, first, last)
		switch {
		case s != nil && int64(len(s)) != rs.want[i]:
			return nil, fmt.Errorf("%w: shard %d has %d bytes for rows %d..%d, want %d",
				ErrShardSize, i, len(s), first, last, rs.want[i])
		case s != nil || rs.want[i] == 0:
			// An empty range is known zeros: present without bytes.
			rs.present[i] = true
			rs.presentCount++
		}
	}
	return rs, nil
}

// row returns views of row r, each of the row's width: present shards
// padded with zeros where they are short (through scratch), missing shards
// that need rebuilding as empty slices with the capacity for it, others
// nil.
func (rs *rowSet) row(shards [][]byte, r int64, need []bool, scratch, out [][]byte) {
	l := rs.l
	width := l.cellLen(rs.dataLen, 0, r)
	base := (r - rs.first) * l.Cell
	for i := range shards {
		have := l.cellLen(rs.dataLen, i, r)
		switch {
		case rs.present[i] && have == width:
			out[i] = shards[i][base : base+width]
		case rs.present[i]:
			buf := scratch[i][:width]
			if have > 0 {
				copy(buf, shards[i][base:base+have])
			}
			clear(buf[have:])
			out[i] = buf
		case need[i]:
			out[i] = scratch[i][:0]
		default:
			out[i] = nil
		}
	}
}

// Reconstruct rebuilds the missing shards of rows first..last (inclusive).
// shards has K+M entries: each present one is exactly its ShardRange for
// those rows (the same byte range read from each shard), and a missing one
// is nil. At least K must be present, counting shards whose range is empty
// (their bytes are known zeros). On success every nil entry is replaced by
// a new slice of its ShardRange length; present slices are not modified.
func (l Layout) Reconstruct(shards [][]byte, dataLen, first, last int64) error {
	return l.reconstruct(shards, dataLen, first, last, false)
}

// ReconstructData is Reconstruct that rebuilds only missing data shards,
// leaving missing parity shards nil: what a degraded read needs before
// Extract.
func (l Layout) ReconstructData(shards [][]byte, dataLen, first, last int64) error {
	return l.reconstruct(shards, dataLen, first, last, true)
}

func (l Layout) reconstruct(shards [][]byte, dataLen, first, last int64, dataOnly bool) error {
	rs, err := l.checkRows(shards, dataLen, first, last)
	if err != nil {
		return err
	}
	need := make([]bool, len(shards))
	missing := 0
	for i := range shards {
		need[i] = !rs.present[i] && (!dataOnly || i < l.K)
		if need[i] {
			missing++
		}
	}
	if missing == 0 {
		return nil
	}
	if rs.presentCount < l.K {
		return fmt.Errorf("%w: %d of %d shards present, need %d",
			ErrTooFewShards, rs.presentCount, l.Shards(), l.K)
	}
	coder, err := newCoder(l)
	if err != nil {
		return err
	}
	scratch := make([][]byte, len(shards))
	for i := range shards {
		if need[i] || (rs.present[i] && rs.want[i] < (last-first+1)*l.Cell) {
			scratch[i] = make([]byte, l.Cell)
		}
		if need[i] {
			shards[i] = make([]byte, rs.want[i])
		}
	}
	out := make([][]byte, len(shards))
	for r := first; r <= last; r++ {
		rs.row(shards, r, need, scratch, out)
		if dataOnly {
			err = coder.ReconstructData(out)
		} else {
			err = coder.Reconstruct(out)
		}
		if err != nil {
			return fmt.Errorf("erasure: reconstruct row %d: %w", r, err)
		}
		base := (r - first) * l.Cell
		for i := range shards {
			if need[i] {
				have := l.cellLen(dataLen, i, r)
				copy(shards[i][base:base+have], out[i][:have])
			}
		}
	}
	return nil
}

// Verify checks that the parity of rows first..last matches their data.
// Every shard must be present (nil only where its ShardRange is empty). It
// returns nil, an error wrapping ErrCorrupt naming the first bad row, or a
// size or range error.
func (l Layout) Verify(shards [][]byte, dataLen, first, last int64) error {
	rs, err := l.checkRows(shards, dataLen, first, last)
	if err != nil {
		return err
	}
	if rs.presentCount < l.Shards() {
		return fmt.Errorf("%w: verify needs all %d shards, have %d",
			ErrTooFewShards, l.Shards(), rs.presentCount)
	}
	coder, err := newCoder(l)
	if err != nil {
		return err
	}
	scratch := make([][]byte, len(shards))
	for i := range scratch {
		scratch[i] = make([]byte, l.Cell)
	}
	out := make([][]byte, len(shards))
	need := make([]bool, len(shards))
	for r := first; r <= last; r++ {
		rs.row(shards, r, need, scratch, out)
		ok, err := coder.Verify(out)
		if err != nil {
			return fmt.Errorf("erasure: verify row %d: %w", r, err)
		}
		if !ok {
			return fmt.Errorf("%w: row %d", ErrCorrupt, r)
		}
	}
	return nil
}
