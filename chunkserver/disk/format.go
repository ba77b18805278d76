package disk

// The on-disk formats (chunk files, volumes and their records, file names)
// are drawn and encoded in package chunkserver/disk/format; the layout of
// a data dir is in layout.go. Here: the store's own sizes and buffers,
// and the check of a chunk file's header against its length.

import (
	"bufio"
	"fmt"
	"io"
	"sync"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

const (
	maxPackMax = 16 << 20 // bound on Config.PackMax: a packed chunk is buffered whole
	tempExt    = ".tmp"   // the suffix of a chunk file being written
	copyBlocks = 4        // blocks per buffer of ReadRange and Verify (256 KiB)
)

var (
	blockPool = sync.Pool{New: func() any { b := make([]byte, format.BlockSize); return &b }}
	copyPool  = sync.Pool{New: func() any { b := make([]byte, copyBlocks*format.BlockSize); return &b }}
	// writerPool holds the write buffers of chunk writers: a 256 KiB
	// buffer zeroed for every chunk was the largest allocation cost of
	// writing many small chunks.
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(io.Discard, copyBlocks*format.BlockSize) }}
)

// checkHeader is the cheap check run on every chunk at Open: a valid header
// for id and a file length that agrees with it. It returns the header and
// the data length.
func checkHeader(f File, id uint64) ([]byte, int64, error) {
	h := make([]byte, format.HeaderSize)
	if err := format.ReadFull(f, h, 0); err != nil {
		return nil, 0, err
	}
	n, err := format.DecodeHeader(h, id)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if fi.Size() != format.FileSize(n) {
		return nil, 0, fmt.Errorf("file length %d, header says %d: %w", fi.Size(), format.FileSize(n), ErrCorrupt)
	}
	return h, n, nil
}
