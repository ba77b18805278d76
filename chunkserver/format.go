package chunkserver

// On-disk format, version 1.
//
// Each dir in Config.Dirs holds (the code for the layout is in fs.go):
//
//	<dir>/chunks/<xx>/<id>.chunk      a committed chunk: <id> is the chunk id in
//	                                  16 lower-case hex digits, <xx> its low
//	                                  byte (256 fan-out dirs, made at Open)
//	<dir>/chunks/<xx>/<id>.chunk.tmp  a chunk being written; deleted at Open
//	<dir>/quarantine/<id>.chunk       a chunk that failed the check at Open
//
// A chunk file holding n data bytes, cut into B = ceil(n / 64 KiB) blocks:
//
//	0           +----------------------------------------------------+
//	            | header, 64 bytes                                   |
//	            |    0  magic "GRNCHUNK"                  [8]byte    |
//	            |    8  format version = 1                uint16     |
//	            |   10  checksum algorithm = 1 (CRC32C)   uint8      |
//	            |   11  flags = 0                         uint8      |
//	            |   12  block size = 65536                uint32     |
//	            |   16  chunk id                          uint64     |
//	            |   24  data length n                     uint64     |
//	            |   32  reserved, zero                    [28]byte   |
//	            |   60  CRC32C of header bytes 0..59      uint32     |
//	64          +----------------------------------------------------+
//	            | data, n bytes: block 0 | block 1 | ... | block B-1 |
//	            | (64 KiB each; the last one may be shorter)         |
//	64+n        +----------------------------------------------------+
//	            | trailer, 4*B + 4 bytes                             |
//	            |    CRC32C of block 0 .. block B-1     B x uint32   |
//	            |    CRC32C of the 64 header bytes      uint32       |
//	            |    followed by the 4*B CRC bytes                   |
//	64+n+4*B+4  +----------------------------------------------------+
//
// Integers are little-endian; CRC32C is CRC-32 with the Castagnoli
// polynomial. Why every flipped byte is caught: a header byte breaks the
// header CRC and a trailer byte the trailer CRC (Open fails); a data byte
// breaks its block's CRC (a read of that block fails). Truncation or
// appended bytes break the length rule above, and a file whose header id
// differs from the id in its name is rejected too; all with ErrCorrupt.
//
// Why a trailer rather than CRCs interleaved with the data: the data stays
// contiguous, so a byte's file offset is just 64 plus its chunk offset and a
// run of whole blocks is read with one pread straight into the caller's
// buffer. The price is that a writer keeps its block CRCs until Commit:
// 4 bytes per 64 KiB (4 KiB for a 64 MiB chunk), still bounded. A reader
// loads them once at Open, checked against the trailer CRC. The header,
// which holds the length, is written last (at Commit) by a pwrite at offset
// 0, so writers of unknown size stream too.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

const (
	blockSize     = 64 << 10 // data bytes per checksummed block
	headerSize    = 64       // bytes of the fixed header
	crcSize       = 4        // bytes of one CRC32C
	formatVersion = 1        // the version this code writes and reads
	algoCRC32C    = 1        // checksum algorithm id for CRC32C
	maxDataLen    = 1 << 50  // sanity bound on a header's data length

	chunkExt = ".chunk"
	tempExt  = ".tmp"
	hexLen   = 16 // hex digits of a chunk id in a file name

	copyBlocks = 4 // blocks per buffer of ReadRange and Verify (256 KiB)
)

var (
	magic      = [8]byte{'G', 'R', 'N', 'C', 'H', 'U', 'N', 'K'}
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	blockPool  = sync.Pool{New: func() any { b := make([]byte, blockSize); return &b }}
	copyPool   = sync.Pool{New: func() any { b := make([]byte, copyBlocks*blockSize); return &b }}
)

// numBlocks is the number of checksummed blocks of n data bytes.
func numBlocks(n int64) int64 { return (n + blockSize - 1) / blockSize }

// fileSize is the length of a chunk file holding n data bytes.
func fileSize(n int64) int64 { return headerSize + n + crcSize*numBlocks(n) + crcSize }

// encodeHeader returns the header of chunk id holding n data bytes.
func encodeHeader(id uint64, n int64) []byte {
	h := make([]byte, headerSize)
	copy(h, magic[:])
	binary.LittleEndian.PutUint16(h[8:], formatVersion)
	h[10] = algoCRC32C
	binary.LittleEndian.PutUint32(h[12:], blockSize)
	binary.LittleEndian.PutUint64(h[16:], id)
	binary.LittleEndian.PutUint64(h[24:], uint64(n))
	binary.LittleEndian.PutUint32(h[60:], crc32.Checksum(h[:60], castagnoli))
	return h
}

// decodeHeader checks a header read from the file of chunk id and returns
// its data length. Every failure wraps ErrCorrupt.
func decodeHeader(h []byte, id uint64) (int64, error) {
	if len(h) != headerSize || !bytes.Equal(h[:8], magic[:]) {
		return 0, fmt.Errorf("bad magic: %w", ErrCorrupt)
	}
	if crc32.Checksum(h[:60], castagnoli) != binary.LittleEndian.Uint32(h[60:]) {
		return 0, fmt.Errorf("header checksum mismatch: %w", ErrCorrupt)
	}
	if binary.LittleEndian.Uint16(h[8:]) != formatVersion || h[10] != algoCRC32C {
		return 0, fmt.Errorf("version %d algorithm %d: %w",
			binary.LittleEndian.Uint16(h[8:]), h[10], errUnsupported)
	}
	if h[11] != 0 || binary.LittleEndian.Uint32(h[12:]) != blockSize ||
		!bytes.Equal(h[32:60], make([]byte, 28)) {
		return 0, fmt.Errorf("bad header fields: %w", ErrCorrupt)
	}
	if got := binary.LittleEndian.Uint64(h[16:]); got != id {
		return 0, fmt.Errorf("header has chunk id %d: %w", got, ErrCorrupt)
	}
	n := binary.LittleEndian.Uint64(h[24:])
	if n > maxDataLen {
		return 0, fmt.Errorf("data length %d: %w", n, ErrCorrupt)
	}
	return int64(n), nil
}

// encodeTrailer returns the trailer for a header and its block CRCs.
func encodeTrailer(header []byte, crcs []uint32) []byte {
	t := make([]byte, 0, crcSize*len(crcs)+crcSize)
	for _, c := range crcs {
		t = binary.LittleEndian.AppendUint32(t, c)
	}
	sum := crc32.Update(crc32.Checksum(header, castagnoli), castagnoli, t)
	return binary.LittleEndian.AppendUint32(t, sum)
}

// decodeTrailer checks a trailer against its header and returns the block
// CRCs. The caller has checked len(t) against the header's data length.
func decodeTrailer(header, t []byte) ([]uint32, error) {
	body := t[:len(t)-crcSize]
	sum := crc32.Update(crc32.Checksum(header, castagnoli), castagnoli, body)
	if sum != binary.LittleEndian.Uint32(t[len(body):]) {
		return nil, fmt.Errorf("trailer checksum mismatch: %w", ErrCorrupt)
	}
	crcs := make([]uint32, len(body)/crcSize)
	for i := range crcs {
		crcs[i] = binary.LittleEndian.Uint32(body[crcSize*i:])
	}
	return crcs, nil
}

// readFull reads len(p) bytes at off; a short file is corruption, since the
// caller has already checked the length the header promises.
func readFull(f File, p []byte, off int64) error {
	n, err := f.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		return fmt.Errorf("file shorter than its header says: %w", ErrCorrupt)
	}
	return err
}

// checkHeader is the cheap check run on every chunk at Open: a valid header
// for id and a file length that agrees with it. It returns the header and
// the data length.
func checkHeader(f File, id uint64) ([]byte, int64, error) {
	h := make([]byte, headerSize)
	if err := readFull(f, h, 0); err != nil {
		return nil, 0, err
	}
	n, err := decodeHeader(h, id)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	if fi.Size() != fileSize(n) {
		return nil, 0, fmt.Errorf("file length %d, header says %d: %w", fi.Size(), fileSize(n), ErrCorrupt)
	}
	return h, n, nil
}

// Reader reads one chunk, verifying the CRC of every block it touches.
// Size and ReadAt may be called concurrently; after Close they fail with
// ErrClosed. A Reader keeps its file open, so on Linux it keeps reading the
// chunk it opened even if the chunk is deleted meanwhile.
type Reader struct {
	s      *Store // told about corruption; nil in format tests
	id     uint64
	f      File
	size   int64
	crcs   []uint32
	closed atomic.Bool
}

// openReader opens the chunk file at path and checks its header, length and
// trailer. It does not read the data.
func openReader(fsys FS, path string, id uint64) (*Reader, error) {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, notFoundErr(err)
	}
	r, err := newReader(f, id)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func newReader(f File, id uint64) (*Reader, error) {
	h, n, err := checkHeader(f, id)
	if err != nil {
		return nil, err
	}
	t := make([]byte, crcSize*numBlocks(n)+crcSize)
	if err := readFull(f, t, headerSize+n); err != nil {
		return nil, err
	}
	crcs, err := decodeTrailer(h, t)
	if err != nil {
		return nil, err
	}
	return &Reader{id: id, f: f, size: n, crcs: crcs}, nil
}

// Size returns the number of data bytes in the chunk.
func (r *Reader) Size() int64 { return r.size }

// ReadAt implements io.ReaderAt over the chunk's data. Each 64 KiB block
// the range touches is read whole and checked against its CRC, so a partial
// range costs at most two extra partial blocks. A mismatch returns the
// count of bytes verified before the bad block and an error wrapping
// ErrCorrupt. A negative off, or one
// past Size, is ErrRange; a read that runs past the end returns io.EOF.
func (r *Reader) ReadAt(p []byte, off int64) (int, error) {
	if r.closed.Load() {
		return 0, fmt.Errorf("chunkserver: read chunk %d: %w", r.id, ErrClosed)
	}
	if off < 0 || off > r.size {
		return 0, fmt.Errorf("chunkserver: read chunk %d at %d of %d: %w", r.id, off, r.size, ErrRange)
	}
	want := min(int64(len(p)), r.size-off)
	var n int64
	for n < want {
		k, err := r.readBlocks(p[n:want], off+n)
		n += int64(k)
		if err != nil {
			return int(n), err
		}
	}
	if int64(len(p)) > want {
		return int(n), io.EOF
	}
	return int(n), nil
}

// readBlocks fills a prefix of p, which lies within the data, starting at
// off: whole blocks straight into p, or else one block through a buffer.
func (r *Reader) readBlocks(p []byte, off int64) (int, error) {
	b := off / blockSize
	start := b * blockSize
	blen := min(blockSize, r.size-start)
	if off == start && int64(len(p)) >= blen {
		span := int64(len(p))
		if off+span < r.size {
			span -= span % blockSize // whole blocks only; p ends before the data does
		}
		return r.readVerified(p[:span], b)
	}
	bp := blockPool.Get().(*[]byte)
	defer blockPool.Put(bp)
	buf := (*bp)[:blen]
	if _, err := r.readVerified(buf, b); err != nil {
		return 0, err
	}
	return copy(p, buf[off-start:]), nil
}

// readVerified reads the blocks starting at block b into p, which holds
// whole blocks (the last may be the chunk's short final block), checks
// them, and returns the length of the good prefix of p. On a mismatch it
// reports the chunk as corrupt to the store.
func (r *Reader) readVerified(p []byte, b int64) (int, error) {
	if err := readFull(r.f, p, headerSize+b*blockSize); err != nil {
		return 0, r.fail(b, err)
	}
	good := 0
	for i := b; good < len(p); i++ {
		k := min(blockSize, len(p)-good)
		if crc32.Checksum(p[good:good+k], castagnoli) != r.crcs[i] {
			return good, r.fail(i, fmt.Errorf("block checksum mismatch: %w", ErrCorrupt))
		}
		good += k
	}
	return good, nil
}

func (r *Reader) fail(b int64, err error) error {
	if r.s != nil && errors.Is(err, ErrCorrupt) {
		r.s.markCorrupt(r.id)
	}
	return fmt.Errorf("chunkserver: read chunk %d block %d: %w", r.id, b, err)
}

// copyTo writes n bytes from off to w through a bounded buffer.
func (r *Reader) copyTo(w io.Writer, off, n int64) (int64, error) {
	if off < 0 || n < 0 || off > r.size || n > r.size-off {
		return 0, fmt.Errorf("chunkserver: read chunk %d range %d+%d of %d: %w", r.id, off, n, r.size, ErrRange)
	}
	bp := copyPool.Get().(*[]byte)
	defer copyPool.Put(bp)
	var done int64
	for done < n {
		pos := off + done
		// Reads after the first start on a block boundary.
		k := min(n-done, int64(len(*bp))-pos%blockSize)
		buf := (*bp)[:k]
		if _, err := r.ReadAt(buf, pos); err != nil {
			return done, err
		}
		m, err := w.Write(buf)
		done += int64(m)
		if err == nil && m < len(buf) {
			err = io.ErrShortWrite
		}
		if err != nil {
			return done, fmt.Errorf("chunkserver: read chunk %d: %w", r.id, err)
		}
	}
	return done, nil
}

// Close closes the chunk file. Calls after the first return ErrClosed.
func (r *Reader) Close() error {
	if !r.closed.CompareAndSwap(false, true) {
		return fmt.Errorf("chunkserver: close chunk %d: %w", r.id, ErrClosed)
	}
	return r.f.Close()
}

// Writer streams a new chunk into a temporary file, computing the block
// CRCs as the bytes pass. Nothing is visible until Commit returns nil, and
// Abort (or a failed Commit) removes every trace. Memory is bounded: a
// 256 KiB write buffer plus 4 bytes of CRC per 64 KiB written. A Writer
// belongs to one goroutine: its methods must not be called concurrently.
type Writer struct {
	s          *Store
	id         uint64
	dir        int    // index of the data dir in Store.dirs
	tmp, final string // paths, both in the same fan-out dir
	want       int64  // declared size, or -1
	f          File
	out        io.Writer     // the file, from just past the header
	bw         *bufio.Writer // buffers out
	n          int64         // data bytes accepted
	cur        uint32        // CRC of the current, unfinished block
	fill       int           // bytes in the current block
	crcs       []uint32      // CRCs of the finished blocks
	err        error         // the first failure; sticky
	done       bool          // committed or aborted
}

// Write adds p to the chunk. Writing past the declared size fails with
// ErrSizeMismatch, past Config.MaxChunkSize with ErrTooLarge, and a full
// disk with ErrNoSpace; after a failure every call fails the same way and
// Commit aborts.
func (w *Writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, w.wrap("write", ErrClosed)
	}
	if w.err != nil {
		return 0, w.err
	}
	if err := w.checkSize(w.n + int64(len(p))); err != nil {
		w.err = err
		return 0, err
	}
	dst := io.Writer(w.bw)
	if w.bw.Buffered() == 0 && len(p) >= w.bw.Size() {
		dst = w.out // large writes skip the copy into the buffer
	}
	n, err := dst.Write(p)
	w.sum(p[:n])
	w.n += int64(n)
	if err != nil {
		w.err = w.wrap("write", err)
		return n, w.err
	}
	return n, nil
}

func (w *Writer) checkSize(total int64) error {
	if w.want >= 0 && total > w.want {
		return fmt.Errorf("chunkserver: write chunk %d: %d bytes, declared %d: %w", w.id, total, w.want, ErrSizeMismatch)
	}
	if total > w.s.cfg.MaxChunkSize {
		return fmt.Errorf("chunkserver: write chunk %d: %d bytes, limit %d: %w", w.id, total, w.s.cfg.MaxChunkSize, ErrTooLarge)
	}
	return nil
}

// sum adds p to the running block CRCs.
func (w *Writer) sum(p []byte) {
	for len(p) > 0 {
		k := min(blockSize-w.fill, len(p))
		w.cur = crc32.Update(w.cur, castagnoli, p[:k])
		w.fill += k
		p = p[k:]
		if w.fill == blockSize {
			w.crcs = append(w.crcs, w.cur)
			w.cur, w.fill = 0, 0
		}
	}
}

// Commit finishes the chunk: it checks the declared size, writes trailer
// and header, fsyncs the file, renames it to its final name and fsyncs the
// dir (no fsyncs with Config.NoSync). After a nil return the chunk is
// visible and durable. On failure the chunk is aborted: it is not visible,
// now or after a restart. Calls after the first return ErrClosed.
func (w *Writer) Commit() error {
	if w.done {
		return w.wrap("commit", ErrClosed)
	}
	if err := w.commit(); err != nil {
		w.abort()
		return err
	}
	w.done = true
	return nil
}

func (w *Writer) commit() error {
	if w.err != nil {
		return w.err
	}
	if w.want >= 0 && w.n != w.want {
		return fmt.Errorf("chunkserver: commit chunk %d: wrote %d bytes, declared %d: %w", w.id, w.n, w.want, ErrSizeMismatch)
	}
	if w.s.isClosed() {
		return w.wrap("commit", ErrClosed)
	}
	if w.fill > 0 {
		w.crcs = append(w.crcs, w.cur)
	}
	h := encodeHeader(w.id, w.n)
	if _, err := w.bw.Write(encodeTrailer(h, w.crcs)); err != nil {
		return w.wrap("commit", err)
	}
	if err := w.bw.Flush(); err != nil {
		return w.wrap("commit", err)
	}
	if _, err := w.f.WriteAt(h, 0); err != nil {
		return w.wrap("commit", err)
	}
	if err := w.finish(); err != nil {
		return w.wrap("commit", err)
	}
	w.s.publish(w.id, w.dir, w.n)
	return nil
}

// finish makes the complete temporary file durable under its final name.
func (w *Writer) finish() error {
	fsys, sync := w.s.fs, !w.s.cfg.NoSync
	if sync {
		if err := w.f.Sync(); err != nil {
			return err
		}
	}
	f := w.f
	w.f = nil
	if err := f.Close(); err != nil {
		return err
	}
	if err := fsys.Rename(w.tmp, w.final); err != nil {
		return err
	}
	if !sync {
		return nil
	}
	if err := fsys.SyncDir(filepath.Dir(w.final)); err != nil {
		// The rename may not be durable, so undo it: the chunk must not
		// be visible when Commit fails. Should the Remove fail too, what
		// stays is a whole, valid chunk, never a half one.
		fsys.Remove(w.final)
		return err
	}
	return nil
}

// Abort discards the chunk and removes its temporary file. It does nothing
// after Commit or a previous Abort, so `defer w.Abort()` is the idiom.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	return w.abort()
}

func (w *Writer) abort() error {
	w.done = true
	if w.f != nil {
		w.f.Close() // the file is being thrown away; its close error does not matter
		w.f = nil
	}
	err := w.s.fs.Remove(w.tmp)
	w.s.release(w.id)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return w.wrap("abort", err)
	}
	return nil
}

func (w *Writer) wrap(op string, err error) error {
	return fmt.Errorf("chunkserver: %s chunk %d: %w", op, w.id, spaceErr(err))
}
