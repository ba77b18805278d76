package master

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
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
	// pruneBatch bounds the expired outcomes one entry deletes, so the
	// record shrinks with the traffic that grows it.
	pruneBatch = 32
)

// outcome is the stored answer to a request.
type outcome struct {
	Op     op              `json:"op"`
	Index  uint64          `json:"index"`
	At     int64           `json:"at"`
	Result json.RawMessage `json:"result,omitempty"`
	Kind   string          `json:"kind,omitempty"` // a name from outcomeErrors
	Err    string          `json:"err,omitempty"`
}

// outcomeErrors are the command errors an outcome can carry, by name, in
// the order they are matched (an ordered table, so every replica stores
// the same bytes).
var outcomeErrors = []struct {
	name   string
	target error
}{
	{"NoSuchBucket", ErrNoSuchBucket}, {"BucketExists", ErrBucketExists}, {"BucketNotEmpty", ErrBucketNotEmpty},
	{"NoSuchKey", ErrNoSuchKey}, {"Precondition", ErrPrecondition}, {"NotFound", ErrNotFound},
	{"NoSuchUpload", ErrNoSuchUpload}, {"InvalidPart", ErrInvalidPart}, {"InvalidPartOrder", ErrInvalidPartOrder},
	{"EntityTooSmall", ErrEntityTooSmall}, {"TooLarge", ErrTooLarge}, {"InvalidName", proto.ErrInvalidName},
	{"Invalid", ErrInvalid}, {"BadCommand", ErrBadCommand},
}

// outcomeResults decodes the results callers use; other ops answer nil.
var outcomeResults = map[op]func(json.RawMessage) (any, error){
	opPutObject:      decodeResult[uint64],
	opRenameObject:   decodeResult[uint64],
	opCompleteUpload: decodeResult[proto.Object],
	opCreateUpload:   decodeResult[proto.Upload],
}

func decodeResult[T any](raw json.RawMessage) (any, error) {
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// replayedError is a command error given again to a repeated request.
type replayedError struct {
	msg    string
	target error
}

func (e replayedError) Error() string { return e.msg }
func (e replayedError) Unwrap() error { return e.target }

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
	switch err := get(txn, outcomeKey(h.id), &prev); {
	case err == nil:
		return prev.replay(h.op)
	case !isNotFound(err):
		return nil, storageError{err}
	}
	val, cmdErr := fn(txn, index, body)
	if isStorageErr(cmdErr) {
		return nil, cmdErr
	}
	rec := outcome{Op: h.op, Index: index, At: h.at}
	if cmdErr != nil {
		rec.Err = cmdErr.Error()
		for _, e := range outcomeErrors {
			if errors.Is(cmdErr, e.target) {
				rec.Kind = e.name
				break
			}
		}
	} else if _, ok := outcomeResults[h.op]; ok {
		if rec.Result, err = json.Marshal(val); err != nil {
			return nil, storageError{fmt.Errorf("encode outcome of %v: %w", h.op, err)}
		}
	}
	if err := put(txn, outcomeKey(h.id), rec); err != nil {
		return nil, err
	}
	if err := setRaw(txn, outcomeTimeKey(h.at, h.id), nil); err != nil {
		return nil, err
	}
	if err := pruneOutcomes(txn, h.at-requestRecordFor.Milliseconds()); err != nil {
		return nil, err
	}
	return val, cmdErr
}

// replay answers a repeated request as the first one was answered.
func (o outcome) replay(asked op) (any, error) {
	if asked != o.Op {
		return nil, fmt.Errorf("request id reused for %v after %v at index %d: %w", asked, o.Op, o.Index, ErrInvalid)
	}
	if o.Err != "" {
		target := ErrInvalid
		for _, e := range outcomeErrors {
			if e.name == o.Kind {
				target = e.target
			}
		}
		return nil, replayedError{msg: o.Err, target: target}
	}
	dec, ok := outcomeResults[o.Op]
	if !ok || len(o.Result) == 0 {
		return nil, nil
	}
	v, err := dec(o.Result)
	if err != nil {
		return nil, storageError{fmt.Errorf("decode outcome at index %d: %w", o.Index, err)}
	}
	return v, nil
}

// pruneOutcomes deletes up to pruneBatch outcomes proposed before cutoff.
func pruneOutcomes(txn *badger.Txn, cutoff int64) error {
	prefix := []byte("it/")
	it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
	var expired [][]byte
	for it.Rewind(); it.Valid() && len(expired) < pruneBatch; it.Next() {
		k := it.Item().KeyCopy(nil)
		if len(k) < len(prefix)+8 || int64(binary.BigEndian.Uint64(k[len(prefix):])) >= cutoff {
			break
		}
		expired = append(expired, k)
	}
	it.Close()
	for _, k := range expired {
		if err := del(txn, k); err != nil {
			return err
		}
		if err := del(txn, outcomeKey(string(k[len(prefix)+8:]))); err != nil {
			return err
		}
	}
	return nil
}
