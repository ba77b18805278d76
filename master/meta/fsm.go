package meta

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/raft"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/chunkindex"
	"github.com/granary-store/granary/master/meta/kv"
)

// FSM is the replicated state machine. Its state lives in Badger; the last
// applied Raft index is stored in the same transaction as the effects of
// the entries up to it, so replaying entries after a restart is a no-op.
//
// Raft calls ApplyBatch, Snapshot and Restore from one goroutine; the read
// methods (in state.go) may run concurrently with all of them.
type FSM struct {
	dir string
	log *slog.Logger

	mu     sync.RWMutex // guards db (swapped by Restore) and failed
	db     *badger.DB
	failed error

	applied  atomic.Uint64
	restores atomic.Int64 // snapshots actually installed, for tests
	ran      atomic.Int64 // entries this process ran against the state
	skipped  atomic.Int64 // replayed entries the state already held

	notifyMu sync.Mutex
	notify   chan struct{} // closed and replaced after every apply

	// The chunk-server registry (n/), which placement reads on every
	// chunk lookup, decoded once per change: nodesGen counts committed
	// batches that changed it (nodeOps) and restores, and nodesCache is
	// the registry as read at generation nodesCacheGen.
	nodesGen      atomic.Uint64
	nodesMu       sync.Mutex
	nodesCache    []Node
	nodesCacheGen uint64
	nodesCached   bool

	// The chunk index's c/, g/ and s/ entries in memory, which the healer
	// reads every round (chunkindex.Mirror). A batch commits and its
	// journal is applied under idxMu, so a reader that holds idxMu and
	// opens a Badger view sees the same commits in both. Lock order:
	// idxMu before mu.
	idxMu sync.RWMutex
	idx   *chunkindex.Mirror

	// The values of the keys nearly every command reads, for the applying
	// transactions (hotKey, kv.Cache); reset when a snapshot replaces the
	// state.
	cache *kv.Cache
}

// hotKey reports whether the applying transactions read key through the
// FSM's value cache: the bucket records (b/) and the counters and marks
// under m/ (the chunk id allocator, the chunk counters, the outcome
// floor), which a PUT reads half a dozen times. m/applied is written
// directly and is not one.
func hotKey(key []byte) bool {
	return bytes.HasPrefix(key, []byte("b/")) || bytes.HasPrefix(key, []byte("m/")) && !bytes.Equal(key, keyApplied)
}

// cacheMax bounds the value cache: the m/ keys and every bucket of a
// large cluster.
const cacheMax = 1 << 16

// nodeOps are the commands that write the chunk-server registry (n/).
var nodeOps = map[Op]bool{OpRegisterNode: true, OpSetNodeState: true}

var keyApplied = []byte("m/applied")

// Open opens (or creates) the state under dir.
func Open(dir string, logger *slog.Logger) (*FSM, error) {
	db, err := openBadger(filepath.Join(dir, "state"), logger)
	if err != nil {
		return nil, err
	}
	f := &FSM{dir: dir, log: logger, db: db, notify: make(chan struct{}), cache: kv.NewCache(hotKey, cacheMax)}
	idx, err := readApplied(db)
	if err == nil {
		err = moveTombstones(db, logger)
	}
	if err == nil {
		f.idx, err = loadMirror(db)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	f.applied.Store(idx)
	return f, nil
}

// loadMirror reads the chunk index's mirror from db.
func loadMirror(db *badger.DB) (*chunkindex.Mirror, error) {
	var m *chunkindex.Mirror
	err := db.View(func(txn *badger.Txn) error {
		var err error
		m, err = chunkindex.Load(txn)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("master: load the chunk index: %w", err)
	}
	return m, nil
}

func openBadger(dir string, logger *slog.Logger) (*badger.DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("master: create state dir: %w", err)
	}
	opts := badger.DefaultOptions(dir).
		WithLogger(badgerLogger{logger}).
		WithSyncWrites(false). // the Raft log is the durable record
		WithNumVersionsToKeep(1).
		WithMemTableSize(32 << 20).
		WithValueThreshold(1 << 10).
		WithNumCompactors(2)
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("master: open badger at %s: %w", dir, err)
	}
	return db, nil
}

// moveTombstones moves the finished deletions a state written before the
// chunk index's x/ prefix keeps under g/ to x/ (chunkindex.MoveTombstones),
// in transactions of a bounded size. A crash part way leaves a state every
// reader takes the same way, and the next open goes on.
func moveTombstones(db *badger.DB, logger *slog.Logger) error {
	total, from := 0, proto.ChunkID(0)
	for {
		var moved int
		err := db.Update(func(txn *badger.Txn) error {
			var err error
			moved, from, err = chunkindex.MoveTombstones(txn, from, 4096)
			return err
		})
		if err != nil {
			return fmt.Errorf("master: move finished deletions to x/: %w", err)
		}
		total += moved
		if from == 0 {
			break
		}
	}
	if total > 0 {
		logger.Info("moved finished chunk deletions to their own prefix", "count", total)
	}
	return nil
}

func readApplied(db *badger.DB) (uint64, error) {
	var idx uint64
	err := db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(keyApplied)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("applied index of %d bytes: %w", len(v), ErrBadCommand)
			}
			idx = binary.BigEndian.Uint64(v)
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("master: read applied index: %w", err)
	}
	return idx, nil
}

// Apply implements raft.FSM for single entries.
func (f *FSM) Apply(l *raft.Log) any {
	return f.ApplyBatch([]*raft.Log{l})[0]
}

// ApplyBatch implements raft.BatchingFSM: the whole batch is applied in one
// Badger transaction (split only when Badger says it is too big), which is
// what makes small metadata commits cheap under load.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	out := make([]any, len(logs))
	f.mu.RLock()
	failed, db := f.failed, f.db
	f.mu.RUnlock()
	if failed != nil {
		for i := range out {
			out[i] = failed
		}
		return out
	}
	if err := f.applyRange(db, logs, out); err != nil {
		f.Fail(err)
		for i := range out {
			if out[i] == nil {
				out[i] = fmt.Errorf("%w: %v", ErrFSMFailed, err)
			}
		}
	}
	f.wake()
	return out
}

// applyRange applies logs in as few transactions as Badger allows.
func (f *FSM) applyRange(db *badger.DB, logs []*raft.Log, out []any) error {
	for len(logs) > 0 {
		n, err := f.applyTxn(db, logs, out)
		if err != nil {
			return err
		}
		logs, out = logs[n:], out[n:]
	}
	return nil
}

// applyTxn applies a prefix of logs in one transaction and returns its
// length. If the transaction grows too big at entry i > 0, the first i
// entries are committed alone.
func (f *FSM) applyTxn(db *badger.DB, logs []*raft.Log, out []any) (int, error) {
	limit := len(logs)
	for {
		txn := db.NewTransaction(true)
		journal := chunkindex.Record(txn, f.idx)
		cached := f.cache.Track(txn)
		n, err := f.applyInto(txn, logs[:limit], out)
		chunkindex.Stop(txn)
		cached.Untrack()
		if errors.Is(err, badger.ErrTxnTooBig) && n > 0 {
			txn.Discard()
			limit = n
			continue
		}
		if err != nil {
			txn.Discard()
			return 0, fmt.Errorf("apply at index %d: %w", logs[n].Index, err)
		}
		if err := f.commit(txn, journal, cached); err != nil {
			return 0, fmt.Errorf("commit indexes %d..%d: %w", logs[0].Index, logs[n-1].Index, err)
		}
		// After the commit, so that a reader that sees the new generation
		// reads what it committed.
		for _, l := range logs[:n] {
			if l.Type == raft.LogCommand && len(l.Data) >= 2 && nodeOps[Op(l.Data[1])] {
				f.nodesGen.Add(1)
				break
			}
		}
		// Only ever forward: a batch Raft replays after a restart may end
		// below the stored index, and lowering it would make the next batch
		// run old commands again on newer state.
		if last := logs[n-1].Index; last > f.applied.Load() {
			f.applied.Store(last)
		}
		return n, nil
	}
}

// commit commits txn and brings the chunk index's mirror and the value
// cache up to date with it, as one step for readers that hold idxMu.
func (f *FSM) commit(txn *badger.Txn, journal *chunkindex.Journal, cached *kv.Tracked) error {
	f.idxMu.Lock()
	defer f.idxMu.Unlock()
	if err := txn.Commit(); err != nil {
		return err
	}
	f.idx.Apply(journal)
	cached.Publish()
	return nil
}

// applyInto runs entries in txn. It returns how many entries it applied and
// the first storage error; command errors are results, not failures.
func (f *FSM) applyInto(txn *badger.Txn, logs []*raft.Log, out []any) (int, error) {
	applied := f.applied.Load()
	for i, l := range logs {
		if l.Index <= applied {
			out[i] = nil // replay of an entry whose effects are stored
			f.skipped.Add(1)
			continue
		}
		f.ran.Add(1)
		var res any
		if l.Type == raft.LogCommand {
			r, err := applyCommand(txn, l.Index, l.Data)
			if kv.IsStorage(err) {
				return i, err
			}
			res = Result{Val: r, Err: err}
		}
		var idx [8]byte
		binary.BigEndian.PutUint64(idx[:], l.Index)
		if err := txn.Set(keyApplied, idx[:]); err != nil {
			return i, err
		}
		out[i] = res
	}
	return len(logs), nil
}

// Result is what Apply returns for a command: a value or a command error
// (a refusal by the state, the same on every replica).
type Result struct {
	Val any
	Err error
}

// Fail stops the state machine with a storage error: every later apply
// returns it, until a restart.
func (f *FSM) Fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed == nil {
		f.failed = fmt.Errorf("%w: %v", ErrFSMFailed, err)
		f.log.Error("state machine failed; this member stops applying", "err", err)
	}
}

// Failed returns the storage error that stopped the state machine, if any.
func (f *FSM) Failed() error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.failed
}

func (f *FSM) wake() {
	f.notifyMu.Lock()
	close(f.notify)
	f.notify = make(chan struct{})
	f.notifyMu.Unlock()
}

// WaitApplied blocks until the state reflects index idx or ctx ends.
func (f *FSM) WaitApplied(ctx context.Context, idx uint64) error {
	for {
		f.notifyMu.Lock()
		ch := f.notify
		f.notifyMu.Unlock()
		if f.applied.Load() >= idx {
			return nil
		}
		if err := f.Failed(); err != nil {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("master: wait for index %d (applied %d): %w", idx, f.applied.Load(), ctx.Err())
		}
	}
}

// view runs fn in a read transaction on the current database.
func (f *FSM) view(fn func(txn *badger.Txn) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.db.View(fn)
}

// Close closes the database.
func (f *FSM) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.db == nil {
		return nil
	}
	err := f.db.Close()
	f.db = nil
	if err != nil {
		return fmt.Errorf("master: close state: %w", err)
	}
	return nil
}

// badgerLogger routes Badger's logs to slog at debug level (warnings and
// errors keep their level).
type badgerLogger struct{ l *slog.Logger }

func (b badgerLogger) Errorf(f string, a ...any) {
	b.l.Error(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Warningf(f string, a ...any) {
	b.l.Warn(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Infof(f string, a ...any) {
	b.l.Debug(fmt.Sprintf(f, a...), "component", "badger")
}
func (b badgerLogger) Debugf(f string, a ...any) {
	b.l.Debug(fmt.Sprintf(f, a...), "component", "badger")
}

// Applied returns the index of the last entry applied to the state.
func (f *FSM) Applied() uint64 { return f.applied.Load() }

// Ran returns how many log entries this process ran against the state.
func (f *FSM) Ran() int64 { return f.ran.Load() }

// Skipped returns how many replayed entries the state already held.
func (f *FSM) Skipped() int64 { return f.skipped.Load() }

// Restores returns how many snapshots this process installed.
func (f *FSM) Restores() int64 { return f.restores.Load() }
