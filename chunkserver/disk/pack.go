package disk

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// The packed side of the Store: writers that gather a small chunk in
// memory and append it to a volume as one record, and deletes that append
// a tombstone.

// packPool holds the buffers of packed writers, so that writing many
// small chunks does not allocate one buffer each. A new one holds the
// record of a 64 KiB chunk, prefix included, and the padding of a direct
// write (direct.go), which then needs no copy of the record.
var packPool = sync.Pool{New: func() any { b := make([]byte, 0, packCap(64<<10)); return &b }}

// packCap is the capacity of a packed writer's buffer for n data bytes:
// the record and room for the padding after it.
func packCap(n int64) int64 { return format.RecordSize(n) + 3*dioAlign }

// newPackedWriter starts a chunk that is gathered in memory and appended
// to a volume of its data dir at Commit.
func (s *Store) newPackedWriter(id uint64, size int64) (*Writer, error) {
	dir, err := s.pickDir(id, size)
	if err != nil {
		return nil, err
	}
	most := size
	if size < 0 {
		most = s.cfg.PackMax
	}
	prefix := format.RecordPrefix(most)
	bp := packPool.Get().(*[]byte)
	if int64(cap(*bp)) < packCap(max(size, 0)) {
		*bp = make([]byte, 0, packCap(max(size, 64<<10)))
	}
	*bp = (*bp)[:prefix]
	w := &Writer{s: s, id: id, dir: dir, want: size, pack: bp, prefix: int(prefix)}
	if size >= 0 {
		w.crcs = make([]uint32, 0, format.NumBlocks(size))
	}
	return w, nil
}

// spill turns a packed writer of unknown size that passed Config.PackMax
// into a chunk file writer: the gathered bytes (already summed) go to a
// temporary file in the same data dir.
func (w *Writer) spill() error {
	final := w.s.path(w.dir, w.id)
	f, err := w.s.fs.OpenFile(final+tempExt, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	w.tmp, w.final, w.f = final+tempExt, final, f
	w.out = io.NewOffsetWriter(f, format.HeaderSize)
	w.bw = writerPool.Get().(*bufio.Writer)
	w.bw.Reset(w.out)
	data := (*w.pack)[w.prefix:]
	_, err = w.bw.Write(data)
	packPool.Put(w.pack)
	w.pack = nil
	return err
}

// stagePacked appends the gathered chunk to a volume as one record,
// without waiting for it to be durable.
func (w *Writer) stagePacked() error {
	h := format.EncodeRecordHeader(format.RecHeader{Kind: format.KindChunk, ID: w.id, N: w.n})
	t := format.EncodeTrailer(h, w.crcs)
	buf := *w.pack
	start := w.prefix - len(h) - len(t)
	copy(buf[start:], h)
	copy(buf[start+len(h):], t)
	rec := buf[start:]
	if final := w.s.recordRoom(w.n); final != w.reserved { // a chunk of unknown size
		if err := w.s.resize(w.reserved, final); err != nil {
			return w.wrap("commit", err)
		}
		w.reserved = final
	}
	st, err := w.s.packers[w.dir].stage(rec, true)
	if err != nil {
		return w.wrap("commit", err)
	}
	w.staged = st
	return nil
}

// finishPacked waits until the staged record is durable and publishes
// it (staged.finish); a record that did not become durable is voided.
func (w *Writer) finishPacked() error {
	st := w.staged
	w.staged = nil
	err := st.finish(func(v *volume, off int64) {
		w.s.publishPacked(w.id, entry{dir: w.dir, size: w.n, vol: v.seq, off: off}, w.reserved)
	})
	if err != nil {
		return w.wrap("commit", err)
	}
	return nil
}

// publishPacked makes a committed record visible; reserved is its
// Writer's reservation (the volume's growth is accounted already).
func (s *Store) publishPacked(id uint64, e entry, reserved int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chunks[id] = e
	if v := s.packers[e.dir].vols[e.vol]; v != nil {
		v.live += format.RecordSize(e.size)
	}
	s.pending -= reserved
	s.writers--
	delete(s.busy, id)
	delete(s.corrupt, id) // a fresh copy replaces a bad one
}

// volPath is the file of volume seq in data dir i.
func (s *Store) volPath(i int, seq uint64) string {
	return filepath.Join(s.dirs[i].volumes, format.VolumeName(seq))
}

// entryPath is the file holding a chunk: its chunk file or its volume.
func (s *Store) entryPath(id uint64, e entry) string {
	if e.packed() {
		return s.volPath(e.dir, e.vol)
	}
	return s.path(e.dir, id)
}

// openEntry opens the chunk described by e.
func (s *Store) openEntry(id uint64, e entry) (*Reader, error) {
	if e.packed() {
		return openRecord(s.fs, s.volPath(e.dir, e.vol), id, e.off)
	}
	return openReader(s.fs, s.path(e.dir, id), id)
}

// relocated reports whether chunk id is no longer where e says: compaction
// moved it, or it was deleted or re-created since.
func (s *Store) relocated(id uint64, e entry) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	cur, ok := s.chunks[id]
	return !ok || cur != e
}

// gone handles a chunk found missing (err says how): a chunk file, or a
// record that is not there (errRecordGone), is forgotten; a volume is lost
// with every chunk in it. It reports whether
// the chunk is lost (not when it moved meanwhile).
func (s *Store) gone(id uint64, e entry, err error) bool {
	if e.packed() && !errors.Is(err, errRecordGone) {
		_, ok := s.loseVolume(e.dir, e.vol, id, e)
		return ok
	}
	return s.forget(id, e)
}

// loseVolume forgets volume seq of data dir i, whose file is gone, and
// every chunk in it, listing them for TakeLost; check, if set, is the
// entry a caller found missing, which must still be indexed as it was
// (else compaction moved it, and nothing is lost). It returns how many
// chunks it lists lost, and whether it forgot the volume.
func (s *Store) loseVolume(i int, seq uint64, id uint64, check entry) (int, bool) {
	p := s.packers[i]
	s.mu.Lock()
	if check.packed() {
		if cur, ok := s.chunks[id]; !ok || cur != check {
			s.mu.Unlock()
			return 0, false
		}
	}
	v, ok := p.vols[seq]
	if !ok || v.retiring {
		s.mu.Unlock()
		return 0, false
	}
	delete(p.vols, seq)
	v.dropped = true
	s.used -= v.size
	n := 0
	for cid, e := range s.chunks {
		if e.dir == i && e.vol == seq {
			delete(s.chunks, cid)
			delete(s.corrupt, cid)
			s.lost = append(s.lost, cid)
			n++
		}
	}
	s.mu.Unlock()
	p.sealActive(seq)
	s.log.Warn("volume file lost", "path", v.path, "chunks", n)
	return n, true
}

// deletePacked appends a tombstone for each of the chunks ids of data dir
// dir, already taken out of the index and marked busy by unindex (es are
// their entries), and accounts each record as dead once its tombstone is
// durable. A chunk whose tombstone failed is restored.
func (s *Store) deletePacked(dir int, ids []uint64, es []entry) []error {
	p := s.packers[dir]
	tombs := make([][]byte, len(ids))
	for k, id := range ids {
		tombs[k] = format.EncodeTombstone(id, es[k].vol, es[k].off)
	}
	errs := p.appendMany(tombs, func(k int, tv *volume, off int64) {
		id, e := ids[k], es[k]
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.busy, id)
		if v := p.vols[e.vol]; v != nil {
			v.live -= format.RecordSize(e.size)
			body := v.size - format.VolHeaderSize
			dead := float64(v.live) < s.cfg.CompactBelow*float64(body)
			if v.live == 0 || dead && (!v.writing || v.size >= s.cfg.VolumeMax/4) {
				s.kickCompaction() // due() decides, counting the tombstones too
			}
		}
		if p.vols[tv.seq] == tv {
			tv.tombs[off] = tomb{id: id, vol: e.vol, off: e.off}
		}
		delete(s.corrupt, id)
	})
	for k, err := range errs {
		if err == nil {
			continue
		}
		s.mu.Lock()
		delete(s.busy, ids[k])
		s.chunks[ids[k]] = es[k]
		s.mu.Unlock()
		errs[k] = fmt.Errorf("chunkserver: delete chunk %d: %w", ids[k], spaceErr(err))
	}
	return errs
}

// Locate returns the file holding chunk id, the offset of its first data
// byte in that file and its data length: its chunk file, or the volume
// holding its record. For tools and fault tests (disk.Locate finds the
// same without a Store).
func (s *Store) Locate(id uint64) (path string, dataOffset, size int64, err error) {
	s.mu.RLock()
	e, ok := s.chunks[id]
	closed := s.closed
	s.mu.RUnlock()
	switch {
	case closed:
		return "", 0, 0, fmt.Errorf("chunkserver: locate chunk %d: %w", id, ErrClosed)
	case !ok:
		return "", 0, 0, fmt.Errorf("chunkserver: locate chunk %d: %w", id, ErrNotFound)
	case e.packed():
		return s.volPath(e.dir, e.vol), e.off + format.RecordPrefix(e.size), e.size, nil
	}
	return s.path(e.dir, id), format.HeaderSize, e.size, nil
}

// Remove removes chunk id from data dir dir without a Store, as an
// operator deleting its file would, for fault tests and tools: a chunk
// file is deleted, a packed chunk's record is made void in place (only its
// header is rewritten; the volume keeps its length). A Store running on
// dir finds the chunk lost at its next read of it (ErrLost), one opened
// later does not index it. A chunk that is nowhere is ErrNotFound.
func Remove(dir string, id uint64) error {
	path, off, size, err := Locate(dir, id)
	if err != nil {
		return err
	}
	if filepath.Ext(path) != format.VolumeExt {
		return os.Remove(path)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("chunkserver: remove chunk %d: %w", id, err)
	}
	_, err = f.WriteAt(format.VoidHeader(id, size), off-format.RecordPrefix(size))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("chunkserver: remove chunk %d: %w", id, err)
	}
	return nil
}
