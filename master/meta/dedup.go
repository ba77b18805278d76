package meta

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/kv"
	"github.com/granary-store/granary/master/meta/metaerr"
)

// At-most-once changes. A client may send one change several times: it
// retries on another member when an attempt times out, and the attempt it
// gave up on can still arrive later (held in the socket buffer of a paused
// member, which forwards it to the leader once it runs again). Applied
// then, it would undo whatever the client did in between. So a change
// asked for under a request id records its outcome under i/<id>, in the
// same transaction as its effects, and a second entry with that id returns
// the recorded outcome without touching the state.
//
// Outcomes are kept for requestRecordFor after they were proposed (by the
// leader's clock, carried in the entry, so every replica expires the same
// ones), and an entry whose id was issued more than requestMaxAge before
// the leader proposed it is refused: under a clock skew below requestMaxAge
// every late attempt either finds its outcome or is refused.
const (
	requestRecordFor = 10 * time.Minute
	requestMaxAge    = requestRecordFor / 2
	// Every pruneEvery-th log index, a request entry deletes up to
	// pruneBatch expired outcomes: more than the pruneEvery entries in
	// between can add, so the record shrinks with the traffic that grows
	// it, and the scan (an iterator over the transaction's pending writes
	// too) stays off most entries of a batch.
	pruneEvery = 64
	pruneBatch = 256
)

// keyOutcomeFloor holds an it/ key no live it/ key is below (absent: the
// start of it/). Pruning seeks there instead of walking it/ from its
// start: Badger keeps a deleted key's marker until compaction drops it,
// and after hours of traffic each walk from the start stepped over
// hundreds of thousands of pruned outcomes (36% of the master's CPU 15
// minutes into a benchmark). A new it/ key below the floor lowers it (a
// new leader's clock may be behind the last one's), so pruning deletes
// exactly what a walk from the start would, and every replica keeps the
// same state. A state without the key (written before it existed) is
// pruned from the start once.
var keyOutcomeFloor = []byte("m/outcomefloor")

// outcomeEnd sorts after every it/ key: the floor once nothing is left in
// it/ (not reached through applyOnce, whose own key is never expired).
var outcomeEnd = []byte("it0")

// outcome is the stored answer to a request: a result, or the refusal
// (its Code and message), which a repeat gets back. Records written before
// the state had its own codes stored the API's error body, whose JSON has
// the same fields.
type outcome struct {
	Op     Op              `json:"op"`
	Index  uint64          `json:"index"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *RecordedError  `json:"error,omitempty"`
}

// outcomeResults decodes the results callers use; other ops answer nil.
var outcomeResults = map[Op]func(json.RawMessage) (any, error){
	OpPutObject:      decodeCommitResult,
	OpRenameObject:   decodeResult[uint64],
	OpRenamePrefix:   decodeResult[uint64],
	OpReplaceExtents: decodeResult[uint64],
	OpSetMeta:        decodeResult[uint64],
	OpCompleteUpload: decodeResult[proto.Object],
	OpCreateUpload:   decodeResult[proto.Upload],
	// Deletes answer only in versioned buckets or by version id; a nil
	// answer is not kept, so older records are unchanged.
	OpDeleteObject: decodeResult[proto.DeleteResult],
}

// decodeCommitResult decodes a commit's answer: a version (uint64), or a
// CommitResult in a versioned bucket.
func decodeCommitResult(raw json.RawMessage) (any, error) {
	if len(raw) > 0 && raw[0] == '{' {
		return decodeResult[CommitResult](raw)
	}
	return decodeResult[uint64](raw)
}

func decodeResult[T any](raw json.RawMessage) (any, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return v, nil
}

func outcomeKey(id string) []byte { return []byte("i/" + id) }
func outcomeTimeKey(at int64, id string) []byte {
	return append(binary.BigEndian.AppendUint64([]byte("it/"), uint64(at)), id...)
}

// applyOnce runs a request's command unless its id was applied before.
func applyOnce(txn *badger.Txn, index uint64, h header, body []byte, fn handler) (any, error) {
	issued, err := proto.ParseRequestID(h.id)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if age := time.Duration(h.at-issued.UnixMilli()) * time.Millisecond; age > requestMaxAge || age < -requestMaxAge {
		return nil, fmt.Errorf("request %s was issued %v before the leader proposed it (clocks at most %v apart): %w",
			h.id, age.Round(time.Millisecond), requestMaxAge, ErrRequestExpired)
	}
	var prev outcome
	switch err := kv.Get(txn, outcomeKey(h.id), &prev); {
	case err == nil:
		return prev.replay(h.op)
	case !kv.IsNotFound(err):
		return nil, kv.Storage(err)
	}
	val, cmdErr := fn(txn, index, body)
	if kv.IsStorage(cmdErr) {
		return nil, cmdErr
	}
	rec := outcome{Op: h.op, Index: index}
	if cmdErr != nil {
		rec.Error = metaerr.Record(cmdErr)
	} else if _, ok := outcomeResults[h.op]; ok && val != nil {
		if rec.Result, err = json.Marshal(val); err != nil {
			return nil, kv.Storage(fmt.Errorf("encode outcome of %v: %w", h.op, err))
		}
	}
	if err := kv.Put(txn, outcomeKey(h.id), rec); err != nil {
		return nil, err
	}
	tk := outcomeTimeKey(h.at, h.id)
	if err := kv.SetRaw(txn, tk, nil); err != nil {
		return nil, err
	}
	if err := lowerOutcomeFloor(txn, tk); err != nil {
		return nil, err
	}
	if index%pruneEvery == 0 {
		if err := pruneOutcomes(txn, h.at-requestRecordFor.Milliseconds()); err != nil {
			return nil, err
		}
	}
	return val, cmdErr
}

// replay answers a repeated request as the first one was answered.
func (o outcome) replay(asked Op) (any, error) {
	if asked != o.Op {
		return nil, fmt.Errorf("request id reused for %v after %v at index %d: %w", asked, o.Op, o.Index, ErrInvalid)
	}
	if o.Error != nil {
		return nil, o.Error
	}
	dec, ok := outcomeResults[o.Op]
	if !ok || len(o.Result) == 0 {
		return nil, nil
	}
	v, err := dec(o.Result)
	if err != nil {
		return nil, kv.Storage(fmt.Errorf("decode outcome at index %d: %w", o.Index, err))
	}
	return v, nil
}

// lowerOutcomeFloor makes the floor no higher than the new it/ key tk.
func lowerOutcomeFloor(txn *badger.Txn, tk []byte) error {
	floor, ok, err := kv.Raw(txn, keyOutcomeFloor)
	if err != nil || !ok || bytes.Compare(tk, floor) >= 0 {
		return err
	}
	return kv.SetRaw(txn, keyOutcomeFloor, tk)
}

// pruneOutcomes deletes up to pruneBatch outcomes proposed before cutoff,
// the oldest first, and raises the floor to the first it/ key it keeps.
func pruneOutcomes(txn *badger.Txn, cutoff int64) error {
	prefix := []byte("it/")
	floor, ok, err := kv.Raw(txn, keyOutcomeFloor)
	if err != nil {
		return err
	}
	if !ok {
		floor = prefix
	}
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	var expired [][]byte
	next := outcomeEnd
	for it.Seek(floor); it.Valid(); it.Next() {
		k := it.Item().KeyCopy(nil)
		if len(expired) == pruneBatch || len(k) < len(prefix)+8 || int64(binary.BigEndian.Uint64(k[len(prefix):])) >= cutoff {
			next = k
			break
		}
		expired = append(expired, k)
	}
	it.Close()
	if err := kv.SetRaw(txn, keyOutcomeFloor, next); err != nil {
		return err
	}
	for _, k := range expired {
		if err := kv.Del(txn, k); err != nil {
			return err
		}
		if err := kv.Del(txn, outcomeKey(string(k[len(prefix)+8:]))); err != nil {
			return err
		}
	}
	return nil
}
