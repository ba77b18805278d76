package erasure

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/reedsolomon"
)

// errClosed is returned by Write after Close.
var errClosed = errors.New("erasure: write after close")

// newCoder returns the Reed-Solomon codec of a valid layout.
func newCoder(l Layout) (reedsolomon.Encoder, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	enc, err := reedsolomon.New(l.K, l.M)
	if err != nil {
		return nil, fmt.Errorf("erasure: %s: %w", l, err)
	}
	return enc, nil
}

// Encoder is a streaming encoder: it takes a chunk's data bytes and writes
// each shard's bytes to that shard's writer as rows complete. It buffers at
// most one row of data and its parity, (K+M)*Cell bytes, whatever the
// chunk size. Per row it writes the K data cells and then the M parity
// cells, one writer after another; a caller that wants the shards to travel
// in parallel gives each writer its own goroutine (for example an io.Pipe).
//
// The first write error stops the Encoder: Write and Close return it as a
// *ShardError naming the shard, and every later call returns it again.
// Shards written so far are consistent prefixes, so the caller may rebuild
// the failed shard from K good ones (Reconstruct) instead of re-encoding.
//
// An Encoder is not safe for concurrent use.
type Encoder struct {
	l       Layout
	coder   reedsolomon.Encoder
	w       []io.Writer
	row     []byte   // K cells of data being filled
	fill    int64    // bytes in row
	parity  [][]byte // M cells
	cells   [][]byte // per-row shard views handed to the coder
	written int64
	err     error
	closed  bool
}

// NewEncoder returns an Encoder for layout l writing shard i to shards[i];
// len(shards) must be K+M.
func NewEncoder(l Layout, shards []io.Writer) (*Encoder, error) {
	coder, err := newCoder(l)
	if err != nil {
		return nil, err
	}
	if len(shards) != l.Shards() {
		return nil, fmt.Errorf("%w: %d writers for %s", ErrShardSize, len(shards), l)
	}
	e := &Encoder{
		l:      l,
		coder:  coder,
		w:      shards,
		row:    make([]byte, l.rowBytes()),
		parity: make([][]byte, l.M),
		cells:  make([][]byte, l.Shards()),
	}
	for j := range e.parity {
		e.parity[j] = make([]byte, l.Cell)
	}
	return e, nil
}

// Write buffers p and writes every row it completes. It returns len(p)
// unless a shard writer failed.
func (e *Encoder) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.closed {
		return 0, errClosed
	}
	n := 0
	for len(p) > 0 {
		c := copy(e.row[e.fill:], p)
		e.fill += int64(c)
		p = p[c:]
		if e.fill == int64(len(e.row)) {
			if err := e.flush(); err != nil {
				return n, err
			}
		}
		n += c
	}
	return n, nil
}

// Written is the number of data bytes accepted so far.
func (e *Encoder) Written() int64 { return e.written + e.fill }

// Close encodes and writes the last, possibly short, row. It does not close
// the shard writers. Calling Close again returns the same result.
func (e *Encoder) Close() error {
	if e.closed || e.err != nil {
		return e.err
	}
	e.closed = true
	if e.fill > 0 {
		return e.flush()
	}
	return nil
}

// flush encodes the row buffer (full, or the last short row) and writes it.
func (e *Encoder) flush() error {
	l := e.l
	width := min(e.fill, l.Cell) // shard 0's cell; the parity width
	for i := range l.K {
		cell := e.row[int64(i)*l.Cell : int64(i)*l.Cell+width]
		have := min(max(e.fill-int64(i)*l.Cell, 0), width)
		clear(cell[have:]) // zero padding for the parity only
		e.cells[i] = cell
	}
	for j := range l.M {
		e.cells[l.K+j] = e.parity[j][:width]
	}
	if err := e.coder.Encode(e.cells); err != nil {
		e.err = fmt.Errorf("erasure: encode: %w", err)
		return e.err
	}
	for i, w := range e.w {
		cell := e.cells[i]
		if i < l.K {
			cell = cell[:min(max(e.fill-int64(i)*l.Cell, 0), width)]
		}
		if len(cell) == 0 {
			continue
		}
		if _, err := w.Write(cell); err != nil {
			e.err = &ShardError{Shard: i, Err: err}
			return e.err
		}
	}
	e.written += e.fill
	e.fill = 0
	return nil
}

// Encode encodes data in one call and returns its K+M shards, each of
// ShardSize bytes. It is for small chunks and tests; large chunks stream
// through an Encoder.
func (l Layout) Encode(data []byte) ([][]byte, error) {
	bufs := make([]bytes.Buffer, l.Shards())
	ws := make([]io.Writer, len(bufs))
	for i := range bufs {
		bufs[i].Grow(int(l.ShardSize(int64(len(data)), i)))
		ws[i] = &bufs[i]
	}
	e, err := NewEncoder(l, ws)
	if err != nil {
		return nil, err
	}
	if _, err := e.Write(data); err != nil {
		return nil, err
	}
	if err := e.Close(); err != nil {
		return nil, err
	}
	shards := make([][]byte, len(bufs))
	for i := range bufs {
		shards[i] = bufs[i].Bytes()
	}
	return shards, nil
}
