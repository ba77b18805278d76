// Package erasure is Granary's Reed-Solomon layer: it cuts a chunk's bytes
// into K data shards and M parity shards with a cell-striped layout, encodes
// them as a stream with bounded memory, maps byte ranges of the chunk to
// byte ranges of its shards, and rebuilds lost shards (or only the bytes
// a ranged read needs) from any K survivors. It is the only package that
// imports github.com/klauspost/reedsolomon. It does no I/O of its own: the
// Encoder writes to io.Writers the caller supplies, and Reconstruct works on
// byte slices the caller has read.
//
// # Layout
//
// A Layout is K data shards, M parity shards and a cell size. The chunk's
// bytes are cut into cells of Cell bytes, laid round-robin over the data
// shards: row r holds cells rK .. rK+K-1, so data shard i holds cells
// i, i+K, i+2K, ... back to back. Each row has M parity cells computed by
// Reed-Solomon over the row's K data cells (the default systematic
// Vandermonde-derived matrix of reedsolomon.New; it is part of the on-disk
// format and must never change). Example, K=4, M=2, a chunk of 9.5 cells:
//
//	data offset:  0    C    2C   3C   4C   5C   6C   7C   8C   9C 9.5C
//	cells:        | c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7 | c8 | c9 |
//
//	         shard 0   shard 1   shard 2   shard 3   shard 4   shard 5
//	row 0:   c0        c1        c2        c3        p0,0      p0,1
//	row 1:   c4        c5        c6        c7        p1,0      p1,1
//	row 2:   c8        c9/2      -         -         p2,0/2    p2,1/2
//
//	shard byte offset of row r = r*Cell
//
// Only the last row may be short. With D data bytes, F = D / (K*Cell) full
// rows and R = D mod (K*Cell) bytes in the last row:
//
//	data shard i stores F*Cell + clamp(R - i*Cell, 0, Cell) bytes
//	parity shards store F*Cell + min(R, Cell) bytes (as long as shard 0,
//	the longest data shard)
//
// The last row's parity is computed over its data cells zero-padded to the
// length of shard 0's last cell, min(R, Cell); the padding is never stored.
// A data shard may therefore be shorter than the others, or empty (a chunk
// smaller than (K-1)*Cell leaves the last data shards empty); an empty or
// short shard's missing bytes are known zeros, so Reconstruct needs no
// bytes for them.
//
// # Reads and repair
//
// Every shard is aligned with every other: byte x of each shard belongs to
// one Reed-Solomon codeword (row x/Cell), so the same byte range read
// from any K shards rebuilds that range of the others. A healthy read of
// data bytes [off, off+n) reads only the Spans that hold them. A degraded
// read computes the shard Window of the range, reads that ShardRange from
// any K shards, calls ReconstructData, and copies the bytes out with
// Extract. A read inside one cell has a window of its own length: a 4 KiB
// degraded read fetches 4 KiB from each of K shards and decodes 4 KiB,
// never a row, never the chunk. A repair walks the shard in windows
// (RowWindow, or any window) and calls Reconstruct and Verify on each.
//
// # Concurrency
//
// A Layout is a value and all its methods are safe for concurrent use. An
// Encoder is used by one goroutine at a time.
package erasure
