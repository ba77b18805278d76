package disk

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// Compaction: a closed volume whose live records fall under
// Config.CompactBelow of its bytes is rewritten: its live records and the
// tombstones that still matter are appended to the active volume, the
// index is switched to the copies, and the file is removed.

// compactor is the Store's compaction goroutine: it waits for a kick (a
// delete from a closed volume, a volume closed, Open) and then compacts
// every volume under the threshold. Its mutex runs one compaction at a
// time, the goroutine's or Compact's.
type compactor struct {
	mu   sync.Mutex
	kick chan struct{}
	quit chan struct{}
	done chan struct{}
	once sync.Once
}

// start starts the goroutine, unless Config.CompactBelow is 0.
func (c *compactor) start(s *Store) {
	c.kick = make(chan struct{}, 1)
	c.quit = make(chan struct{})
	c.done = make(chan struct{})
	if s.cfg.CompactBelow == 0 {
		close(c.done)
		return
	}
	c.kick <- struct{}{} // volumes found at Open may be due
	go func() {
		defer close(c.done)
		for {
			select {
			case <-c.quit:
				return
			case <-c.kick:
			}
			if _, err := s.compact(s.cfg.CompactBelow, c.quit); err != nil && !errors.Is(err, ErrClosed) {
				s.log.Warn("compaction failed", "err", err)
			}
		}
	}()
}

// stop ends the goroutine and waits for it. Idempotent.
func (c *compactor) stop() {
	c.once.Do(func() { close(c.quit) })
	<-c.done
}

// kickCompaction wakes the compaction goroutine, without waiting.
func (s *Store) kickCompaction() {
	select {
	case s.compactor.kick <- struct{}{}:
	default:
	}
}

// Compact rewrites, now, every closed volume whose live records take less
// than the fraction below of its bytes (below 1 rewrites every volume
// with dead bytes), and returns how many volumes it removed. The
// background compaction does the same with Config.CompactBelow; Compact is
// for tools and tests.
func (s *Store) Compact(below float64) (int, error) {
	if s.isClosed() {
		return 0, fmt.Errorf("chunkserver: compact: %w", ErrClosed)
	}
	return s.compact(below, nil)
}

func (s *Store) compact(below float64, quit <-chan struct{}) (int, error) {
	s.compactor.mu.Lock()
	defer s.compactor.mu.Unlock()
	n := 0
	for pass := true; pass; { // a removed volume can leave others dead: go again
		pass = false
		for i, p := range s.packers {
			closed, open := s.due(i, below)
			for _, seq := range open {
				// Closed now, or once its records in flight finish (which
				// kicks the compaction again).
				pass = p.sealActive(seq) || pass
			}
			for _, seq := range closed {
				select {
				case <-quit:
					return n, ErrClosed
				default:
				}
				if err := s.compactVolume(p, seq); err != nil {
					return n, fmt.Errorf("chunkserver: compact volume %s: %w", s.volPath(i, seq), err)
				}
				n++
				pass = true
			}
		}
	}
	return n, nil
}

// due lists the closed volumes of data dir i whose live fraction is under
// below, oldest first, and the small ones (under 1/16 of
// Config.VolumeMax: every Open closes the active volume, so restarts would
// otherwise leave many), which compaction merges into the active volume.
// It also lists the open volume if nothing in it is live any more, or if
// it is a quarter full and under below, to be closed, so that its space
// comes back too.
func (s *Store) due(i int, below float64) (closed, open []uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, failed := s.failed[i]; failed || s.closed {
		return nil, nil
	}
	p := s.packers[i]
	for seq, v := range p.vols {
		live := v.live
		for _, t := range v.tombs {
			if _, ok := p.vols[t.vol]; ok && t.vol != seq {
				live += format.RecordSize(0)
			}
		}
		body := v.size - format.VolHeaderSize
		dead := live < body && float64(live) < below*float64(body)
		switch {
		case !v.writing && (dead || v.size < s.cfg.VolumeMax/16):
			closed = append(closed, seq)
		case v.writing && body > 0 && (live == 0 || dead && v.size >= s.cfg.VolumeMax/4):
			open = append(open, seq)
		}
	}
	slices.Sort(closed)
	return closed, open
}

// moveRec is a record compaction copies: a live chunk, or a tombstone.
type moveRec struct {
	id  uint64
	e   entry // the chunk's entry (a chunk), or zero
	t   tomb  // the tombstone (a tombstone), or zero
	off int64 // its offset in the old volume
	a   *appender
	to  int64 // its offset in the new volume
	end int64 // the end of the bytes its copy took there
	n   int64 // its length
}

// compactVolume rewrites volume seq of p's data dir.
func (s *Store) compactVolume(p *packer, seq uint64) error {
	moves, path, damaged, err := s.startMoves(p, seq)
	if err != nil {
		return err
	}
	defer s.endMoves(moves)
	if err := s.copyMoves(p, path, moves); err != nil {
		return err
	}
	s.publishMoves(p, seq, moves)
	if damaged { // what lies past the damage stays for an operator to see
		err = s.fs.Rename(path, filepath.Join(s.dirs[p.dir].quarantine, filepath.Base(path)))
	} else {
		err = s.fs.Remove(path)
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if !s.cfg.NoSync {
		// Until the removal is durable the volume stays known, so that no
		// tombstone naming it is dropped by a later compaction.
		if err := s.timeSync(func() error { return s.fs.SyncDir(p.path) }); err != nil {
			return err
		}
	}
	s.mu.Lock()
	if v := p.vols[seq]; v != nil {
		delete(p.vols, seq)
		v.dropped = true
		s.used -= v.size
	}
	s.mu.Unlock()
	s.log.Debug("volume compacted", "path", path, "moved", len(moves))
	return nil
}

// startMoves lists what volume seq holds that must survive it, marking
// its chunks moving so Delete waits for the move.
func (s *Store) startMoves(p *packer, seq uint64) (moves []moveRec, path string, damaged bool, err error) {
	// The scan of the index takes only the read lock, so reads and writes
	// go on; the chunks found are then marked under the write lock, if
	// still where they were.
	s.mu.RLock()
	var found []moveRec
	for id, e := range s.chunks {
		if e.dir == p.dir && e.vol == seq {
			found = append(found, moveRec{id: id, e: e, off: e.off, n: format.RecordSize(e.size)})
		}
	}
	s.mu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	v := p.vols[seq]
	switch {
	case s.closed:
		return nil, "", false, ErrClosed
	case v == nil || v.writing:
		return nil, "", false, fmt.Errorf("volume %d not closed", seq)
	}
	for _, m := range found {
		if cur, ok := s.chunks[m.id]; ok && cur == m.e {
			moves = append(moves, m)
			s.moving[m.id] = struct{}{}
		}
	}
	for off, t := range v.tombs {
		if _, ok := p.vols[t.vol]; ok && t.vol != seq {
			moves = append(moves, moveRec{id: t.id, t: t, off: off, n: format.RecordSize(0)})
		}
	}
	slices.SortFunc(moves, func(a, b moveRec) int { return cmp.Compare(a.off, b.off) })
	return moves, v.path, v.damaged, nil
}

// endMoves lets Delete at the moved chunks again.
func (s *Store) endMoves(moves []moveRec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range moves {
		if m.e.packed() {
			delete(s.moving, m.id)
		}
	}
	s.moved.Broadcast()
}

// copyMoves appends a copy of every record to the active volume and waits
// until all are durable. On failure the copies written are voided.
func (s *Store) copyMoves(p *packer, path string, moves []moveRec) error {
	var f File
	if len(moves) > 0 {
		var err error
		if f, err = s.fs.OpenFile(path, os.O_RDONLY, 0); err != nil {
			return err
		}
		defer f.Close()
	}
	var buf []byte
	var err error
	for i := range moves {
		m := &moves[i]
		if m.e.packed() {
			buf = slices.Grow(buf[:0], int(m.n))[:m.n]
			if err = format.ReadFull(f, buf, m.off); err != nil {
				break
			}
		} else {
			buf = format.EncodeTombstone(m.id, m.t.vol, m.t.off)
		}
		var a *appender
		a, m.to, m.end, err = p.start(buf, false)
		if a != nil && err != nil {
			a.leave() // voided, or the volume failed
		}
		if err != nil {
			break
		}
		m.a = a
	}
	for _, m := range moves {
		if m.a != nil && err == nil {
			err = m.a.wait(m.end)
		}
	}
	for _, m := range moves {
		if m.a == nil {
			continue
		}
		if err != nil { // no copy may outlive a failed compaction (best effort)
			m.a.f.WriteAt(format.VoidHeader(m.id, m.e.size), m.to) // size 0 for a tombstone
		}
		m.a.leave()
	}
	return err
}

// publishMoves switches the index to the copies.
func (s *Store) publishMoves(p *packer, seq uint64, moves []moveRec) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := p.vols[seq]
	if old != nil {
		old.retiring = true // its file goes next: not a loss
	}
	for _, m := range moves {
		nv := p.vols[m.a.vol.seq]
		if nv == nil {
			continue // the new volume was lost meanwhile
		}
		if !m.e.packed() {
			nv.tombs[m.to] = m.t
			continue
		}
		if cur, ok := s.chunks[m.id]; !ok || cur != m.e {
			continue // forgotten meanwhile: the copy is dead bytes
		}
		ne := m.e
		ne.vol, ne.off = nv.seq, m.to
		s.chunks[m.id] = ne
		nv.live += m.n
		if old != nil {
			old.live -= m.n
		}
	}
}
