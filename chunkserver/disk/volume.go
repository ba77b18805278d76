package disk

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/granary-store/granary/chunkserver/disk/format"
)

// Volumes: small chunks packed as records into shared append-only files,
// with one group-committed fsync for many records. The format is drawn in
// package format.

// volume is one volume file of a data dir as the store knows it. Its
// fields are guarded by Store.mu.
type volume struct {
	seq      uint64
	path     string
	size     int64          // bytes of the file (records appended, torn tails too)
	live     int64          // bytes of the indexed records in it
	tombs    map[int64]tomb // its tombstones, by their offset in it
	writing  bool           // an appender still adds records to it
	dropped  bool           // no longer in its packer's vols (lost, failed, compacted)
	damaged  bool           // the scan stopped at damage: quarantined, not removed, once compacted
	retiring bool           // compacted: its file is being removed
}

// tomb is a tombstone: chunk id's record at off in volume vol is deleted.
type tomb struct {
	id  uint64
	vol uint64
	off int64
}

// packer appends records to the volumes of one data dir.
type packer struct {
	s    *Store
	dir  int    // index in Store.dirs
	path string // <root>/volumes

	vols map[uint64]*volume // every volume of the dir, by sequence; guarded by Store.mu

	mu      sync.Mutex // guards what follows; taken before appender.mu and Store.mu
	cur     *appender  // the active volume, nil until the first record
	nextSeq uint64     // sequence of the next volume
	closed  bool
}

// appender writes records to one volume and commits them in groups: many
// records share one fsync. A record's Commit waits until every record
// before it in the file is written and an fsync that started after that
// has returned, so the durable part of a volume is always a prefix: the
// scan never meets a hole before a committed record.
type appender struct {
	p   *packer
	vol *volume
	f   File
	// df is the volume opened again for direct I/O, on its first direct
	// record (dfTried); nil if that failed. Guarded by mu.
	df      File
	dfTried bool

	// The syncer (syncLoop, one goroutine per appender unless
	// Config.NoSync) runs the group commits: a writer that waits asks for
	// one on kick, and the syncer fsyncs every record written by then.
	// Writers of several replicas write each of them first and then wait
	// for all, and their fsyncs run in parallel, without a goroutine per
	// replica. The appender stops it (stop) when its file closes, and
	// waits for it (stopped).
	kick    chan struct{} // buffered 1
	stop    chan struct{}
	stopped chan struct{}

	mu      sync.Mutex
	cond    sync.Cond
	end     int64           // offset of the next record
	done    int64           // every record below done is written (or voided)
	written map[int64]int64 // records written past done: start -> end
	synced  int64           // every record below synced is durable
	syncing bool            // the syncer's fsync is running
	waiting int             // writers in wait
	err     error           // the volume failed: unsynced records fail
	sealed  bool            // takes no more records
	users   int             // records reserved and not yet finished, and a zeroing

	// Zeros ahead (Config.ZeroAhead): the file holds durable zeros up to
	// zeroed; a zeroing of [zeroFrom, zeroTo) runs while zeroTo > 0, and
	// records that overlap it wait for it. Their bytes past end count in
	// Store.ahead.
	zeroed           int64
	zeroFrom, zeroTo int64
	zeroing          bool // a zeroing is being started or runs
	zeroFailed       bool // a zeroing failed: no more for this volume
}

// start reserves room for rec in the active volume of the dir (starting a
// new volume when the active one is full or failed) and writes it there,
// outside any lock: with direct I/O when it is large enough (direct.go),
// else through the page cache. Compaction's copies never take direct I/O
// (mayDirect false): its padding would count as dead bytes, and the copy
// would be due for compaction again. It returns the record's offset and
// the end of the bytes it took, padding included. The caller must call
// leave on the returned appender, whatever happens (after wait, for a
// record it wants durable).
func (p *packer) start(rec []byte, mayDirect bool) (a *appender, off, end int64, err error) {
	direct := mayDirect && p.s.cfg.DirectMin > 0 && int64(len(rec)) >= p.s.cfg.DirectMin && !p.s.noDirect.Load()
	a, from, off, end, err := p.reserve(int64(len(rec)), direct)
	if err != nil {
		return nil, 0, 0, err
	}
	a.awaitZeros(from, end)
	if direct {
		return a, off, end, a.writeDirect(rec, from, off, end)
	}
	_, err = a.f.WriteAt(rec, off)
	if err != nil {
		err = fmt.Errorf("append to volume %s: %w", a.vol.path, err)
		// Keep the volume scannable past this record: a void header of
		// the same length, which the scan skips.
		if _, verr := a.f.WriteAt(voidOf(rec), off); verr != nil {
			a.fail(err)
			return a, off, end, err
		}
	}
	a.wrote(off, end)
	if len(rec) <= zeroAheadMaxRecord {
		a.zeroAhead()
	}
	return a, off, end, err
}

// staged is a record written to a volume by stage and not yet durable:
// it holds one use of its appender until finish or void.
type staged struct {
	a        *appender
	rec      []byte
	off, end int64
}

// stage writes rec to the active volume (start) without waiting for it to
// be durable; the caller must finish or void the record it returns.
func (p *packer) stage(rec []byte, mayDirect bool) (*staged, error) {
	a, off, end, err := p.start(rec, mayDirect)
	if err != nil {
		if a != nil {
			a.leave() // start voided the record, or the volume failed
		}
		return nil, err
	}
	return &staged{a: a, rec: rec, off: off, end: end}, nil
}

// finish waits until the record is durable, then calls done with its
// volume and offset, before the volume may close: so compaction, which
// takes only closed volumes, always finds what done indexes. A record
// that did not become durable is voided, and finish returns why.
func (st *staged) finish(done func(v *volume, off int64)) error {
	if err := st.a.wait(st.end); err != nil {
		st.void()
		return err
	}
	done(st.a.vol, st.off)
	st.a.leave()
	return nil
}

// void overwrites a record that will not be committed with its void
// header (best effort: a record left whole is an unreferenced chunk, which
// the master has this server delete), so no later scan takes it for a
// chunk, and ends its use of the appender.
func (st *staged) void() {
	st.a.f.WriteAt(voidOf(st.rec), st.off) // the record failed already; this is cleanup
	st.a.leave()
}

// appendMany appends recs, all written before the first wait, so one
// group commit covers them (one per volume, if they span a rotation), and
// finishes each, calling done with its index. It returns an error for
// each record (nil where it is durable).
func (p *packer) appendMany(recs [][]byte, done func(i int, v *volume, off int64)) []error {
	errs := make([]error, len(recs))
	sts := make([]*staged, len(recs))
	for i, rec := range recs {
		sts[i], errs[i] = p.stage(rec, true)
	}
	for i, st := range sts {
		if st != nil {
			errs[i] = st.finish(func(v *volume, off int64) { done(i, v, off) })
		}
	}
	return errs
}

// reserve picks the active appender and reserves room there for a record
// of n bytes: from its end (from) to end, the record at off (from, unless
// the record is direct and padded).
func (p *packer) reserve(n int64, direct bool) (a *appender, from, off, end int64, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, 0, 0, 0, ErrClosed
	}
	if a := p.cur; a != nil {
		if from, off, end, cut, ok := a.take(n, direct, p.s.cfg.VolumeMax); ok {
			p.s.grow(a.vol, end-from, cut)
			return a, from, off, end, nil
		}
	}
	a, err = p.rotate()
	if err != nil {
		return nil, 0, 0, 0, err
	}
	from, off, end, cut, _ := a.take(n, direct, p.s.cfg.VolumeMax) // a fresh volume takes any first record
	p.s.grow(a.vol, end-from, cut)
	return a, from, off, end, nil
}

// rotate starts a new volume: a new file with its header, made durable by
// a dir fsync (its first group commit syncs the file), and seals the old
// one. The caller holds p.mu.
func (p *packer) rotate() (*appender, error) {
	s := p.s
	seq := p.nextSeq
	p.nextSeq++
	path := filepath.Join(p.path, format.VolumeName(seq))
	f, err := s.fs.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create volume: %w", err)
	}
	undo := func(err error) (*appender, error) {
		f.Close()
		s.fs.Remove(path)
		return nil, fmt.Errorf("create volume %s: %w", path, err)
	}
	if _, err := f.WriteAt(format.EncodeVolumeHeader(seq), 0); err != nil {
		return undo(err)
	}
	if !s.cfg.NoSync {
		if err := s.timeSync(func() error { return s.fs.SyncDir(p.path) }); err != nil {
			return undo(err)
		}
	}
	v := &volume{seq: seq, path: path, size: format.VolHeaderSize, tombs: make(map[int64]tomb), writing: true}
	s.mu.Lock()
	p.vols[seq] = v
	s.used += format.VolHeaderSize
	s.mu.Unlock()
	a := &appender{p: p, vol: v, f: f, end: format.VolHeaderSize, done: format.VolHeaderSize,
		synced: format.VolHeaderSize, written: make(map[int64]int64), zeroed: format.VolHeaderSize}
	a.cond.L = &a.mu
	if !s.cfg.NoSync {
		a.kick, a.stop, a.stopped = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
		go a.syncLoop() // owned by the appender: stopped when its file closes (leaveIfIdle)
	}
	if old := p.cur; old != nil {
		old.seal()
	}
	p.cur = a
	return a, nil
}

// take reserves room for a record of n bytes at the end of the volume,
// [from, end) with the record at off (padded for direct I/O when direct),
// unless the volume is sealed or the room would take it past limit (a
// fresh volume takes any record). cut is how many of those bytes were
// zeros ahead (or are being zeroed), which the record's bytes now count
// for.
func (a *appender) take(n int64, direct bool, limit int64) (from, off, end, cut int64, ok bool) {
	a.mu.Lock()
	from, off, end = a.end, a.end, a.end+n
	if direct {
		off, end = directLayout(from, n)
	}
	if a.sealed || (a.end > format.VolHeaderSize && end > limit) {
		a.mu.Unlock()
		a.seal()
		return 0, 0, 0, 0, false
	}
	a.end = end
	a.users++
	cut = min(end-from, max(0, max(a.zeroed, a.zeroTo)-from))
	a.mu.Unlock()
	return from, off, end, cut, true
}

// wrote records that [start, end) is written.
func (a *appender) wrote(start, end int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if start != a.done {
		a.written[start] = end
		return
	}
	a.done = end
	for {
		e, ok := a.written[a.done]
		if !ok {
			break
		}
		delete(a.written, a.done)
		a.done = e
	}
	a.cond.Broadcast()
}

// fail marks the volume failed: it takes no more records, and records not
// yet durable fail.
func (a *appender) fail(err error) {
	a.mu.Lock()
	if a.err == nil {
		a.err = err
	}
	a.sealed = true
	a.cond.Broadcast()
	a.mu.Unlock()
}

// voidOf returns the void header for the record rec.
func voidOf(rec []byte) []byte {
	return format.VoidHeader(binary.LittleEndian.Uint64(rec[8:]), int64(binary.LittleEndian.Uint64(rec[16:])))
}

// wait returns once the record ending at end is durable, or why it
// cannot become so.
func (a *appender) wait(end int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.waiting++
	defer func() { a.waiting-- }()
	for {
		switch {
		case a.synced >= end:
			return nil
		case a.err != nil:
			return a.err
		case a.done >= end && !a.syncing && a.p.s.cfg.NoSync:
			a.synced = a.done
		case a.done >= end && !a.syncing:
			select { // ask the syncer, then wait for its answer
			case a.kick <- struct{}{}:
			default: // a kick is pending already
			}
			a.cond.Wait()
		default:
			a.cond.Wait()
		}
	}
}

// syncLoop is the syncer: on each kick it fsyncs the volume, and again
// while writers wait on records written since, until stop.
func (a *appender) syncLoop() {
	defer close(a.stopped)
	for {
		select {
		case <-a.stop:
			return
		case <-a.kick:
		}
		a.mu.Lock()
		for a.err == nil && a.done > a.synced && a.waiting > 0 {
			a.syncing = true
			upTo := a.done
			a.mu.Unlock()
			err := a.p.s.timeSync(func() error { return datasync(a.f) })
			a.mu.Lock()
			a.syncing = false
			if err != nil {
				if a.err == nil {
					a.err = fmt.Errorf("fsync volume %s: %w", a.vol.path, err)
				}
				a.sealed = true
			} else {
				a.synced = max(a.synced, upTo)
			}
			a.cond.Broadcast()
		}
		a.mu.Unlock()
	}
}

// seal stops the appender taking records; its file closes when the last
// record in flight finishes.
func (a *appender) seal() {
	a.mu.Lock()
	a.sealed = true
	a.mu.Unlock()
	a.leaveIfIdle(0)
}

// leave ends one record's use of the appender.
func (a *appender) leave() { a.leaveIfIdle(1) }

func (a *appender) leaveIfIdle(users int) {
	a.mu.Lock()
	a.users -= users
	idle := a.sealed && a.users == 0 && a.f != nil
	f, df := a.f, a.df
	if idle {
		a.f, a.df = nil, nil
	}
	a.mu.Unlock()
	if !idle {
		return
	}
	s := a.p.s
	if a.stop != nil { // no writer is left to ask for an fsync: the syncer is idle or finishing one
		close(a.stop)
		<-a.stopped
	}
	if df != nil {
		if err := df.Close(); err != nil {
			s.log.Warn("cannot close volume opened for direct I/O", "path", a.vol.path, "err", err)
		}
	}
	if err := a.writeEnd(f); err != nil {
		s.log.Warn("cannot write the end of a volume", "path", a.vol.path, "err", err)
	}
	if left := a.zeroed - a.end; left > 0 { // the file was cut to its end record, or failed
		s.mu.Lock()
		s.ahead -= left
		s.mu.Unlock()
	}
	if err := f.Close(); err != nil {
		s.log.Warn("cannot close volume", "path", a.vol.path, "err", err)
	}
	s.mu.Lock()
	a.vol.writing = false
	s.mu.Unlock()
	s.kickCompaction()
}

// writeEnd appends the end record to the volume, which takes no more
// records, so a later scan knows it was closed whole: a record there that
// fails its checks is damage, not a torn tail. A volume that failed gets
// none. The caller owns f: every record is finished.
func (a *appender) writeEnd(f File) error {
	if a.err != nil {
		return nil
	}
	end := format.EncodeEnd()
	if _, err := f.WriteAt(end, a.end); err != nil {
		return err
	}
	a.p.s.grow(a.vol, int64(len(end)), 0)
	if a.zeroed > a.end+int64(len(end)) { // zeros ahead past it
		if err := f.Truncate(a.end + int64(len(end))); err != nil {
			return err
		}
	}
	if a.p.s.cfg.NoSync {
		return nil
	}
	return a.p.s.timeSync(f.Sync)
}

// grow accounts n more bytes appended to v, cut of them over zeros
// ahead.
func (s *Store) grow(v *volume, n, cut int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v.size += n
	s.ahead -= cut
	if !v.dropped {
		s.used += n
	}
}

// close seals the active volume and takes no more records.
func (p *packer) close() {
	p.mu.Lock()
	p.closed = true
	a := p.cur
	p.cur = nil
	p.mu.Unlock()
	if a != nil {
		a.seal()
	}
}

// sealActive makes the next record start a new volume, if volume seq is
// the active one (it failed, its file went missing, or it is mostly
// dead), and reports whether it was.
func (p *packer) sealActive(seq uint64) bool {
	p.mu.Lock()
	a := p.cur
	if a != nil && a.vol.seq == seq {
		p.cur = nil
	} else {
		a = nil
	}
	p.mu.Unlock()
	if a != nil {
		a.seal()
	}
	return a != nil
}
