package disk

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// The start-up scan of a data dir's volumes, and Locate, which reads them
// the same way without a Store.

// volScan is what a scan of one volume file finds.
type volScan struct {
	seq   uint64
	size  int64 // file length
	end   int64 // end of the last good record: the scan stopped there
	stop  error // why it stopped before size, if it did
	ended bool  // the file ends with the end record: the volume was closed
	recs  []scanRec
	tombs []scanTomb
}

// scanRec is a chunk record; scanTomb a tombstone and its offset.
type scanRec struct {
	id     uint64
	off, n int64
}

type scanTomb struct {
	off int64
	t   tomb
}

// readVolume reads the header of the volume at path and every record
// from the first on, until the end or the first record that fails its
// checks (a torn tail, or damage): see format.ScanVolume. A header that
// fails wraps ErrCorrupt; other errors are I/O errors, and then the scan
// found nothing certain.
func readVolume(fsys FS, path string, seq uint64) (volScan, error) {
	vs := volScan{seq: seq}
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return vs, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return vs, err
	}
	vs.size = fi.Size()
	sc, err := format.ScanVolume(f, vs.size, seq, func(off int64, r format.RecHeader) {
		switch r.Kind {
		case format.KindChunk:
			vs.recs = append(vs.recs, scanRec{id: r.ID, off: off, n: r.N})
		case format.KindTomb:
			vs.tombs = append(vs.tombs, scanTomb{off: off, t: tomb{id: r.ID, vol: r.TargetVol, off: r.TargetOff}})
		}
	})
	vs.end, vs.stop, vs.ended = sc.End, sc.Stop, sc.Ended
	return vs, err
}

// listVolumes returns the sequences of the volume files in dir, sorted,
// and logs other files through warn, if set.
func listVolumes(fsys FS, dir string, warn func(path string)) ([]uint64, error) {
	ents, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, e := range ents {
		seq, ok := format.ParseVolumeName(e.Name())
		if !ok {
			if warn != nil {
				warn(filepath.Join(dir, e.Name()))
			}
			continue
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	return seqs, nil
}

// liveRecords applies the tombstones of one data dir's volume scans to
// their records and returns, per chunk id, the record that stands: of the
// copies not deleted, the newest, unless a newer copy was deleted (then
// the older ones are leftovers of a compaction that did not finish, and
// dead too). Scans must be in sequence order.
func liveRecords(scans []volScan) map[uint64]scanLoc {
	deleted := make(map[scanLoc]bool)
	for _, vs := range scans {
		for _, t := range vs.tombs {
			deleted[scanLoc{vol: t.t.vol, off: t.t.off}] = true
		}
	}
	live := make(map[uint64]scanLoc)
	for _, vs := range scans {
		for _, r := range vs.recs {
			loc := scanLoc{vol: vs.seq, off: r.off, n: r.n}
			if deleted[scanLoc{vol: vs.seq, off: r.off}] {
				delete(live, r.id) // an older copy of what was deleted
				continue
			}
			live[r.id] = loc // newer copies win
		}
	}
	return live
}

// scanLoc is where a record is: its volume and offset (n, its data
// length, is not part of its identity in deleted).
type scanLoc struct {
	vol uint64
	off int64
	n   int64
}

// scanVolumes indexes the packed chunks of data dir i and registers its
// volumes. Every volume found is closed to new records: one that lacks its
// end record was still taking records when the store stopped, so a torn
// tail (a crash mid-append) is cut off and the end record appended; in a
// closed volume, a record that fails its checks is damage. Only Open calls
// it.
func (s *Store) scanVolumes(i int) error {
	p := s.packers[i]
	seqs, err := listVolumes(s.fs, p.path, func(path string) { s.log.Warn("unknown file in volumes dir", "path", path) })
	if err != nil {
		return err
	}
	var scans []volScan
	var damaged, records int
	for _, seq := range seqs {
		p.nextSeq = max(p.nextSeq, seq+1)
		path := filepath.Join(p.path, format.VolumeName(seq))
		vs, err := readVolume(s.fs, path, seq)
		switch {
		case errors.Is(err, errUnsupported):
			s.log.Error("volume format unsupported, ignored", "path", path, "err", err)
			continue
		case errors.Is(err, ErrCorrupt) && vs.size <= format.VolHeaderSize:
			// A crash while the volume was being created.
			if rerr := s.fs.Remove(path); rerr != nil {
				s.log.Warn("cannot remove a torn new volume", "path", path, "err", rerr)
			}
			continue
		case errors.Is(err, ErrCorrupt):
			damaged++
			s.quarantineVolume(i, path, err)
			continue
		case err != nil:
			// Unreadable now, maybe not later: leave it, and take nothing
			// from it (so compaction cannot remove it either).
			damaged++
			s.log.Warn("volume unreadable, left in place", "path", path, "err", err)
			continue
		}
		v := &volume{seq: seq, path: path, size: vs.size, tombs: make(map[int64]tomb)}
		switch {
		case !vs.ended:
			// Open when the store stopped: a crash may have torn its tail.
			v.size = s.closeVolume(path, vs)
		case vs.stop != nil:
			damaged++
			v.damaged = true
			s.log.Error("volume damaged: records past the damage are not indexed",
				"path", path, "at", vs.end, "size", vs.size, "err", vs.stop)
		}
		p.vols[seq] = v
		s.used += v.size
		scans = append(scans, vs)
		records += len(vs.recs)
	}
	for _, vs := range scans {
		for _, t := range vs.tombs {
			p.vols[vs.seq].tombs[t.off] = t.t
		}
	}
	live := liveRecords(scans)
	for _, id := range slices.Sorted(maps.Keys(live)) {
		loc := live[id]
		s.index(i, id, entry{dir: i, size: loc.n, vol: loc.vol, off: loc.off})
	}
	if len(seqs) > 0 {
		s.log.Info("volumes scanned", "dir", s.dirs[i].root, "volumes", len(seqs), "records", records, "chunks", len(live), "damaged", damaged)
	}
	return nil
}

// closeVolume closes a volume the store did not close (it crashed, or
// the volume was still taking records): it cuts off a torn tail, a crash
// mid-append, and appends the end record. It returns the volume's size.
func (s *Store) closeVolume(path string, vs volScan) int64 {
	f, err := s.fs.OpenFile(path, os.O_RDWR, 0)
	if err == nil {
		if vs.size > vs.end {
			err = f.Truncate(vs.end)
		}
		if err == nil {
			_, err = f.WriteAt(format.EncodeEnd(), vs.end)
		}
		if err == nil && !s.cfg.NoSync {
			err = s.timeSync(f.Sync)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		s.log.Warn("cannot close a volume", "path", path, "at", vs.end, "err", err)
		fi, serr := s.fs.Stat(path)
		if serr != nil {
			return vs.size
		}
		return fi.Size()
	}
	if vs.stop != nil {
		s.log.Warn("torn volume tail cut", "path", path, "at", vs.end, "bytes", vs.size-vs.end, "cause", vs.stop)
	}
	return vs.end + int64(len(format.EncodeEnd()))
}

// quarantineVolume moves a volume to the quarantine folder of data dir i.
func (s *Store) quarantineVolume(i int, path string, cause error) {
	to := filepath.Join(s.dirs[i].quarantine, filepath.Base(path))
	if err := s.fs.Rename(path, to); err != nil {
		s.log.Warn("volume set aside, but cannot be moved", "path", path, "cause", cause, "err", err)
		return
	}
	s.log.Warn("volume quarantined", "path", to, "cause", cause)
}

// Locate finds where the data of chunk id is stored under data dir dir,
// by reading the files, without a Store (the store may be running in
// another process): the chunk file, or the volume holding its record, the
// offset of its first data byte in that file, and its data length. It
// reads the volumes as Open does, so it finds what a Store opened now
// would index (a chunk file by its name and header). A chunk that is
// nowhere is ErrNotFound. For tools and fault tests.
func Locate(dir string, id uint64) (path string, dataOffset, size int64, err error) {
	file := filepath.Join(dir, "chunks", fanout(id), format.ChunkName(id))
	if f, err := os.Open(file); err == nil {
		defer f.Close()
		h := make([]byte, format.HeaderSize)
		_, err := io.ReadFull(f, h)
		n, herr := format.DecodeHeader(h, id)
		if err = cmp.Or(err, herr); err != nil {
			return "", 0, 0, fmt.Errorf("chunkserver: locate chunk %d: %s: %w", id, file, err)
		}
		return file, format.HeaderSize, n, nil
	}
	live, err := readLive(dir)
	if err != nil {
		return "", 0, 0, fmt.Errorf("chunkserver: locate chunk %d: %w", id, err)
	}
	loc, ok := live[id]
	if !ok {
		return "", 0, 0, fmt.Errorf("chunkserver: locate chunk %d in %s: %w", id, dir, ErrNotFound)
	}
	return filepath.Join(dir, "volumes", format.VolumeName(loc.vol)), loc.off + format.RecordPrefix(loc.n), loc.n, nil
}

// Inventory lists, sorted by id, the chunks under data dir dir by reading
// the files without a Store, as Locate does: chunk files by name and
// length, packed chunks as a Store opened now would index them. For tools
// and tests.
func Inventory(dir string) ([]ChunkInfo, error) {
	var out []ChunkInfo
	fans, err := os.ReadDir(filepath.Join(dir, "chunks"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("chunkserver: inventory of %s: %w", dir, err)
	}
	for _, fan := range fans {
		ents, _ := os.ReadDir(filepath.Join(dir, "chunks", fan.Name()))
		for _, e := range ents {
			id, ok := format.ParseChunkName(e.Name())
			if !ok {
				continue
			}
			if _, _, n, err := Locate(dir, id); err == nil {
				out = append(out, ChunkInfo{ID: id, Size: n})
			}
		}
	}
	live, err := readLive(dir)
	if err != nil {
		return nil, fmt.Errorf("chunkserver: inventory of %s: %w", dir, err)
	}
	for id, loc := range live {
		out = append(out, ChunkInfo{ID: id, Size: loc.n})
	}
	slices.SortFunc(out, func(a, b ChunkInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// readLive reads the volumes of data dir dir and returns the records that
// stand (liveRecords).
func readLive(dir string) (map[uint64]scanLoc, error) {
	fsys := OSFS()
	vdir := filepath.Join(dir, "volumes")
	seqs, err := listVolumes(fsys, vdir, nil)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var scans []volScan
	for _, seq := range seqs {
		vs, err := readVolume(fsys, filepath.Join(vdir, format.VolumeName(seq)), seq)
		if err != nil {
			continue // the store would not index it either
		}
		scans = append(scans, vs)
	}
	return liveRecords(scans), nil
}
