package meta

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/raft"

	"github.com/granary-store/granary/master/meta/snapstream"
)

// A snapshot streams every key of the state as of one Badger read
// transaction, in the format of master/meta/snapstream. The read
// transaction is opened in Snapshot, on Raft's FSM goroutine, so it sees
// exactly the entries applied so far; Persist runs concurrently with
// later applies.

// Snapshot implements raft.FSM.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.failed != nil {
		return nil, f.failed
	}
	return &fsmSnapshot{txn: f.db.NewTransaction(false), index: f.applied.Load()}, nil
}

type fsmSnapshot struct {
	txn   *badger.Txn
	index uint64
}

// Persist implements raft.FSMSnapshot.
func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.write(sink); err != nil {
		sink.Cancel()
		return fmt.Errorf("master: persist snapshot at %d: %w", s.index, err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) write(w io.Writer) error {
	sw := snapstream.NewWriter(w, s.index)
	it := s.txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		if err := item.Value(func(v []byte) error { return sw.Record(item.Key(), v) }); err != nil {
			return err
		}
	}
	return sw.Close()
}

// Release implements raft.FSMSnapshot.
func (s *fsmSnapshot) Release() { s.txn.Discard() }

// Restore implements raft.FSM. A snapshot no newer than the local state is
// skipped: the local state already contains it, and Raft replays the
// entries after it (which ApplyBatch skips up to the stored index). A newer
// one is loaded into a fresh database beside the current one, verified, and
// only then swapped in, so a bad stream leaves the old state intact.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	sr, err := snapstream.NewReader(rc)
	if err != nil {
		return fmt.Errorf("master: restore: %w", badSnapshot(err))
	}
	index := sr.Index
	if index <= f.applied.Load() && f.Failed() == nil {
		f.log.Info("snapshot is not newer than local state; keeping it", "snapshot", index, "applied", f.applied.Load())
		return sr.Discard()
	}
	tmpDir := filepath.Join(f.dir, "state.restore")
	os.RemoveAll(tmpDir)
	db, err := openBadger(tmpDir, f.log)
	if err != nil {
		return err
	}
	err = loadRecords(db, sr)
	if err == nil {
		err = moveTombstones(db, f.log) // a snapshot of an older member
	}
	if err != nil {
		db.Close()
		os.RemoveAll(tmpDir)
		return fmt.Errorf("master: restore snapshot at %d: %w", index, badSnapshot(err))
	}
	if err := f.swapAndLoad(db, tmpDir); err != nil {
		return err
	}
	f.applied.Store(index)
	f.restores.Add(1)
	f.wake()
	f.log.Info("installed snapshot", "index", index)
	return nil
}

// badSnapshot keeps a damaged stream what it always was, a malformed
// command (ErrBadCommand), besides snapstream.ErrCorrupt.
func badSnapshot(err error) error {
	if errors.Is(err, snapstream.ErrCorrupt) {
		return fmt.Errorf("%w: %w", err, ErrBadCommand)
	}
	return err
}

// loadRecords copies the records into db once the stream's checksum
// matched.
func loadRecords(db *badger.DB, sr *snapstream.Reader) error {
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	for {
		key, val, err := sr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if err := wb.Set(key, val); err != nil {
			return err
		}
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	return db.Sync()
}

// swapAndLoad swaps db in (swap) and loads the chunk index's mirror from
// it, as one step for readers that hold idxMu.
func (f *FSM) swapAndLoad(db *badger.DB, tmpDir string) error {
	f.idxMu.Lock()
	defer f.idxMu.Unlock()
	f.cache.Reset()
	if err := f.swap(db, tmpDir); err != nil {
		return err
	}
	f.mu.RLock()
	live := f.db
	f.mu.RUnlock()
	m, err := loadMirror(live)
	if err != nil {
		f.Fail(err)
		return err
	}
	f.idx = m
	return nil
}

// swap replaces the live database with db (opened at tmpDir).
func (f *FSM) swap(db *badger.DB, tmpDir string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	live := filepath.Join(f.dir, "state")
	if f.db != nil {
		if err := f.db.Close(); err != nil {
			f.log.Warn("close state before restore", "err", err)
		}
	}
	if err := db.Close(); err != nil {
		return fmt.Errorf("master: close restored state: %w", err)
	}
	old := filepath.Join(f.dir, "state.old")
	os.RemoveAll(old)
	if err := os.Rename(live, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("master: move old state aside: %w", err)
	}
	if err := os.Rename(tmpDir, live); err != nil {
		return fmt.Errorf("master: install restored state: %w", err)
	}
	os.RemoveAll(old)
	reopened, err := openBadger(live, f.log)
	if err != nil {
		f.failed = fmt.Errorf("%w: reopen after restore: %v", ErrFSMFailed, err)
		return f.failed
	}
	f.db = reopened
	f.failed = nil
	f.nodesGen.Add(1)
	return nil
}
