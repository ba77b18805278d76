package meta

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/raft"
)

// A snapshot streams every key of the state as of one Badger read
// transaction:
//
//	"GRSNAP01"                      8-byte magic and format version
//	applied index                   8 bytes, big endian
//	{ uvarint klen, key, uvarint vlen, value }*
//	uvarint 0                       end of records (keys are never empty)
//	CRC32C of everything above      4 bytes, big endian
//
// The read transaction is opened in Snapshot, on Raft's FSM goroutine, so
// it sees exactly the entries applied so far; Persist runs concurrently
// with later applies.
var snapMagic = []byte("GRSNAP01")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

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
	crc := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(w, crc), 256<<10)
	bw.Write(snapMagic)
	bw.Write(binary.BigEndian.AppendUint64(nil, s.index))
	it := s.txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 256})
	defer it.Close()
	var lenBuf []byte
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		err := item.Value(func(v []byte) error {
			lenBuf = binary.AppendUvarint(lenBuf[:0], uint64(len(item.Key())))
			bw.Write(lenBuf)
			bw.Write(item.Key())
			lenBuf = binary.AppendUvarint(lenBuf[:0], uint64(len(v)))
			bw.Write(lenBuf)
			_, err := bw.Write(v)
			return err
		})
		if err != nil {
			return err
		}
	}
	bw.Write([]byte{0})
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(binary.BigEndian.AppendUint32(nil, crc.Sum32()))
	return err
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
	br := bufio.NewReaderSize(rc, 256<<10)
	crc := crc32.New(castagnoli)
	r := io.TeeReader(br, crc)
	var head [16]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return fmt.Errorf("master: restore: read header: %w", err)
	}
	if string(head[:8]) != string(snapMagic) {
		return fmt.Errorf("master: restore: bad snapshot magic %q: %w", head[:8], ErrBadCommand)
	}
	index := binary.BigEndian.Uint64(head[8:])
	if index <= f.applied.Load() && f.Failed() == nil {
		f.log.Info("snapshot is not newer than local state; keeping it", "snapshot", index, "applied", f.applied.Load())
		_, err := io.Copy(io.Discard, br)
		return err
	}
	tmpDir := filepath.Join(f.dir, "state.restore")
	os.RemoveAll(tmpDir)
	db, err := openBadger(tmpDir, f.log)
	if err != nil {
		return err
	}
	if err := loadRecords(db, r, br, crc); err != nil {
		db.Close()
		os.RemoveAll(tmpDir)
		return fmt.Errorf("master: restore snapshot at %d: %w", index, err)
	}
	if err := f.swap(db, tmpDir); err != nil {
		return err
	}
	f.applied.Store(index)
	f.restores.Add(1)
	f.wake()
	f.log.Info("installed snapshot", "index", index)
	return nil
}

// loadRecords copies the records into db and checks the trailing CRC.
func loadRecords(db *badger.DB, r io.Reader, br *bufio.Reader, crc hash.Hash32) error {
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	byteReader := &teeByteReader{r: r}
	for {
		klen, err := binary.ReadUvarint(byteReader)
		if err != nil {
			return fmt.Errorf("read key length: %w", err)
		}
		if klen == 0 {
			break
		}
		key, err := readN(r, klen)
		if err != nil {
			return err
		}
		vlen, err := binary.ReadUvarint(byteReader)
		if err != nil {
			return fmt.Errorf("read value length: %w", err)
		}
		val, err := readN(r, vlen)
		if err != nil {
			return err
		}
		if err := wb.Set(key, val); err != nil {
			return err
		}
	}
	want := crc.Sum32()
	var tail [4]byte
	if _, err := io.ReadFull(br, tail[:]); err != nil {
		return fmt.Errorf("read checksum: %w", err)
	}
	if got := binary.BigEndian.Uint32(tail[:]); got != want {
		return fmt.Errorf("snapshot checksum %08x, computed %08x: %w", got, want, ErrBadCommand)
	}
	if err := wb.Flush(); err != nil {
		return err
	}
	return db.Sync()
}

func readN(r io.Reader, n uint64) ([]byte, error) {
	if n > 64<<20 {
		return nil, fmt.Errorf("record of %d bytes: %w", n, ErrBadCommand)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("read record: %w", err)
	}
	return b, nil
}

type teeByteReader struct{ r io.Reader }

func (t *teeByteReader) ReadByte() (byte, error) {
	var b [1]byte
	_, err := io.ReadFull(t.r, b[:])
	return b[0], err
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
	return nil
}
