package erasure

import "fmt"

// window is the per-call state of Reconstruct and Verify over the shard
// window [off, end) of a chunk of dataLen bytes.
type window struct {
	l            Layout
	off, end     int64   // end clipped to the parity shards' size
	size         []int64 // ShardSize of each shard
	want         []int64 // ShardRange length of each shard
	present      []bool
	presentCount int
}

// checkWindow validates the layout, the window and the shard slices.
// Position x of every shard is one Reed-Solomon codeword; a data shard's
// byte past its size is a known zero.
func (l Layout) checkWindow(shards [][]byte, dataLen, wOff, wLen int64) (*window, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	if len(shards) != l.Shards() {
		return nil, fmt.Errorf("%w: %d shards for %s", ErrShardSize, len(shards), l)
	}
	full := l.ShardSize(dataLen, 0) // the parity shards' size
	if wOff < 0 || wLen <= 0 || wOff >= full {
		return nil, fmt.Errorf("%w: shard window [%d, +%d) of %d bytes", ErrRange, wOff, wLen, full)
	}
	w := &window{l: l, off: wOff, end: min(wOff+wLen, full), size: make([]int64, len(shards)),
		want: make([]int64, len(shards)), present: make([]bool, len(shards))}
	for i, s := range shards {
		w.size[i] = l.ShardSize(dataLen, i)
		_, w.want[i] = l.ShardRange(dataLen, i, wOff, wLen)
		switch {
		case s != nil && int64(len(s)) != w.want[i]:
			return nil, fmt.Errorf("%w: shard %d has %d bytes for window [%d, +%d), want %d",
				ErrShardSize, i, len(s), wOff, wLen, w.want[i])
		case s != nil || w.want[i] == 0:
			// An empty range is known zeros: present without bytes.
			w.present[i] = true
			w.presentCount++
		}
	}
	return w, nil
}

// segments calls f for each piece [start, end) of the window that lies in
// one row; rows bound the work buffers to one cell.
func (w *window) segments(f func(start, end int64) error) error {
	for start := w.off; start < w.end; {
		end := min(w.end, (start/w.l.Cell+1)*w.l.Cell)
		if err := f(start, end); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// views fills out with the codewords of segment [start, end): present
// shards (padded with zeros through scratch where a data shard ends
// inside the segment), missing shards that need rebuilding as empty
// slices with room for it, others nil.
func (w *window) views(shards [][]byte, start, end int64, need []bool, scratch, out [][]byte) {
	width := end - start
	base := start - w.off
	for i := range shards {
		have := min(max(w.size[i]-start, 0), width)
		switch {
		case w.present[i] && have == width:
			out[i] = shards[i][base : base+width]
		case w.present[i]:
			buf := scratch[i][:width]
			copy(buf, shards[i][base:base+have])
			clear(buf[have:])
			out[i] = buf
		case need[i]:
			out[i] = scratch[i][:0]
		default:
			out[i] = nil
		}
	}
}

// scratch returns a buffer of one segment for each shard that needs one.
func (w *window) scratch(shards [][]byte, need []bool) [][]byte {
	seg := min(w.l.Cell, w.end-w.off)
	out := make([][]byte, len(shards))
	for i := range shards {
		if need[i] || (w.present[i] && w.size[i] < w.end) {
			out[i] = make([]byte, seg)
		}
	}
	return out
}

// Reconstruct rebuilds the missing shards' bytes in the shard window
// [wOff, wOff+wLen) (rows, from RowWindow, or the Window of a read).
// shards has K+M entries: each present one is exactly its ShardRange of
// the window (the same byte range read from each shard), a missing one
// is nil. At least K must be present, counting shards whose range is
// empty (their bytes are known zeros). On success every nil entry is
// replaced by a new slice of its ShardRange length; present slices are
// not modified.
func (l Layout) Reconstruct(shards [][]byte, dataLen, wOff, wLen int64) error {
	return l.reconstruct(shards, dataLen, wOff, wLen, false)
}

// ReconstructData is Reconstruct that rebuilds only missing data shards,
// leaving missing parity shards nil: what a degraded read needs before
// Extract.
func (l Layout) ReconstructData(shards [][]byte, dataLen, wOff, wLen int64) error {
	return l.reconstruct(shards, dataLen, wOff, wLen, true)
}

func (l Layout) reconstruct(shards [][]byte, dataLen, wOff, wLen int64, dataOnly bool) error {
	w, err := l.checkWindow(shards, dataLen, wOff, wLen)
	if err != nil {
		return err
	}
	need := make([]bool, len(shards))
	missing := 0
	for i := range shards {
		need[i] = !w.present[i] && (!dataOnly || i < l.K)
		if need[i] {
			missing++
		}
	}
	if missing == 0 {
		return nil
	}
	if w.presentCount < l.K {
		return fmt.Errorf("%w: %d of %d shards present, need %d",
			ErrTooFewShards, w.presentCount, l.Shards(), l.K)
	}
	coder, err := newCoder(l)
	if err != nil {
		return err
	}
	scratch := w.scratch(shards, need)
	for i := range shards {
		if need[i] {
			shards[i] = make([]byte, w.want[i])
		}
	}
	out := make([][]byte, len(shards))
	return w.segments(func(start, end int64) error {
		w.views(shards, start, end, need, scratch, out)
		var err error
		if dataOnly {
			err = coder.ReconstructData(out)
		} else {
			err = coder.Reconstruct(out)
		}
		if err != nil {
			return fmt.Errorf("erasure: reconstruct [%d, %d): %w", start, end, err)
		}
		for i := range shards {
			if need[i] {
				have := min(max(w.size[i]-start, 0), end-start)
				copy(shards[i][start-w.off:], out[i][:have])
			}
		}
		return nil
	})
}

// Verify checks that the parity in the shard window [wOff, wOff+wLen)
// matches the data. Every shard must be present (nil only where its
// ShardRange is empty). It returns nil, an error wrapping ErrCorrupt
// naming the first bad segment, or a size or range error. It cannot say
// which shard is wrong.
func (l Layout) Verify(shards [][]byte, dataLen, wOff, wLen int64) error {
	w, err := l.checkWindow(shards, dataLen, wOff, wLen)
	if err != nil {
		return err
	}
	if w.presentCount < l.Shards() {
		return fmt.Errorf("%w: verify needs all %d shards, have %d",
			ErrTooFewShards, l.Shards(), w.presentCount)
	}
	coder, err := newCoder(l)
	if err != nil {
		return err
	}
	need := make([]bool, len(shards))
	scratch := w.scratch(shards, need)
	out := make([][]byte, len(shards))
	return w.segments(func(start, end int64) error {
		w.views(shards, start, end, need, scratch, out)
		ok, err := coder.Verify(out)
		if err != nil {
			return fmt.Errorf("erasure: verify [%d, %d): %w", start, end, err)
		}
		if !ok {
			return fmt.Errorf("%w: shard bytes [%d, %d)", ErrCorrupt, start, end)
		}
		return nil
	})
}
