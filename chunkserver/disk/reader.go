package disk

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync/atomic"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// Reader reads one chunk, verifying the CRC of every block it touches.
// Size, ReadAt and CopyTo may be called concurrently; after Close they
// fail with ErrClosed. A Reader keeps its file open, so on Linux it keeps
// reading the chunk it opened even if the chunk is deleted meanwhile.
type Reader struct {
	s      *Store // told about corruption; nil in format tests
	id     uint64
	f      File
	base   int64 // file offset of the data
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
	t := make([]byte, format.CRCSize*format.NumBlocks(n)+format.CRCSize)
	if err := format.ReadFull(f, t, format.HeaderSize+n); err != nil {
		return nil, err
	}
	crcs, err := format.DecodeTrailer(h, t)
	if err != nil {
		return nil, err
	}
	return &Reader{id: id, f: f, base: format.HeaderSize, size: n, crcs: crcs}, nil
}

// openRecord opens the volume file at path and checks the header and
// checksums of chunk id's record at off. It does not read the data.
func openRecord(fsys FS, path string, id uint64, off int64) (*Reader, error) {
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, notFoundErr(err)
	}
	r, err := newRecordReader(f, id, off)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func newRecordReader(f File, id uint64, off int64) (*Reader, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	h, _, crcs, err := format.ReadRecordHead(f, off, fi.Size())
	switch {
	case err != nil:
		return nil, err
	case h.Kind != format.KindChunk || h.ID != id:
		return nil, fmt.Errorf("record at %d is of kind %d for chunk %d: %w", off, h.Kind, h.ID, errRecordGone)
	}
	return &Reader{id: id, f: f, base: off + format.RecordPrefix(h.N), size: h.N, crcs: crcs}, nil
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
	b := off / format.BlockSize
	start := b * format.BlockSize
	blen := min(format.BlockSize, r.size-start)
	if off == start && int64(len(p)) >= blen {
		span := int64(len(p))
		if off+span < r.size {
			span -= span % format.BlockSize // whole blocks only; p ends before the data does
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
	if err := format.ReadFull(r.f, p, r.base+b*format.BlockSize); err != nil {
		return 0, r.fail(b, err)
	}
	good := 0
	for i := b; good < len(p); i++ {
		k := min(format.BlockSize, len(p)-good)
		if crc32.Checksum(p[good:good+k], format.Castagnoli) != r.crcs[i] {
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

// CopyTo writes n bytes of the chunk, starting at off, to w through a
// bounded buffer (256 KiB), verifying every block on the way, and returns
// the bytes written. A range outside the chunk is ErrRange. Like ReadAt it
// may be called concurrently.
func (r *Reader) CopyTo(w io.Writer, off, n int64) (int64, error) {
	if off < 0 || n < 0 || off > r.size || n > r.size-off {
		return 0, fmt.Errorf("chunkserver: read chunk %d range %d+%d of %d: %w", r.id, off, n, r.size, ErrRange)
	}
	bp := copyPool.Get().(*[]byte)
	defer copyPool.Put(bp)
	var done int64
	for done < n {
		pos := off + done
		// Reads after the first start on a block boundary.
		k := min(n-done, int64(len(*bp))-pos%format.BlockSize)
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

// Close closes the chunk's file. Calls after the first return ErrClosed.
func (r *Reader) Close() error {
	if !r.closed.CompareAndSwap(false, true) {
		return fmt.Errorf("chunkserver: close chunk %d: %w", r.id, ErrClosed)
	}
	return r.f.Close()
}

// lookup returns the path and entry of stored chunk id.
func (s *Store) lookup(id uint64) (string, entry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return "", entry{}, ErrClosed
	}
	e, ok := s.chunks[id]
	if !ok {
		return "", entry{}, ErrNotFound
	}
	return s.entryPath(id, e), e, nil
}

// movesTried bounds how often Open and Stat follow a chunk that
// compaction moved while they looked for it.
const movesTried = 3

// Open opens chunk id for reading, after checking its header, length and
// checksums. The caller must Close the Reader. A chunk that fails the
// checks (ErrCorrupt) is reported in Corrupt. An indexed chunk whose file
// is gone (a chunk file or volume deleted behind the store's back, or its
// directory or disk lost) is ErrLost: the store forgets it (with every
// chunk of a lost volume) and reports it in TakeLost, so the master
// re-creates the replica, here or elsewhere.
func (s *Store) Open(id uint64) (*Reader, error) {
	var (
		r   *Reader
		e   entry
		err error
	)
	for try := 0; ; try++ {
		if _, e, err = s.lookup(id); err != nil {
			return nil, fmt.Errorf("chunkserver: open chunk %d: %w", id, err)
		}
		r, err = s.openEntry(id, e)
		if !errors.Is(err, ErrNotFound) || try == movesTried || !s.relocated(id, e) {
			break
		}
	}
	if errors.Is(err, ErrNotFound) {
		s.gone(id, e, err)
		return nil, fmt.Errorf("chunkserver: open chunk %d: %w: %w", id, ErrLost, err)
	}
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			s.markCorrupt(id)
		}
		return nil, fmt.Errorf("chunkserver: open chunk %d: %w", id, err)
	}
	r.s = s
	return r, nil
}

// ReadRange writes n bytes of chunk id, starting at off, to w, verifying
// every block on the way through a bounded buffer (256 KiB). It returns
// the bytes written. A range outside the chunk is ErrRange.
func (s *Store) ReadRange(id uint64, off, n int64, w io.Writer) (int64, error) {
	r, err := s.Open(id)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return r.CopyTo(w, off, n)
}

// Verify reads and checks every block of chunk id, as the scrubber does.
// Rate limiting is the caller's business.
func (s *Store) Verify(id uint64) error {
	r, err := s.Open(id)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = r.CopyTo(io.Discard, 0, r.size)
	return err
}
