package meta

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/granary-store/granary/internal/proto"
)

// request applies op under a request id at the leader time at, as a new
// log entry, and returns its result.
func (tf *testFSM) request(at time.Time, id string, o Op, payload any) (any, error) {
	tf.t.Helper()
	data, err := EncodeRequest(o, at, id, payload)
	if err != nil {
		tf.t.Fatal(err)
	}
	return tf.applyRaw(data)
}

func putInline(key, data string) PutObject {
	return PutObject{Object: proto.Object{Bucket: "bk1", Key: key, Size: int64(len(data)), Inline: []byte(data)}}
}

func inlineOf(t *testing.T, f *FSM, key string) string {
	t.Helper()
	o, err := f.Object("bk1", key)
	if errors.Is(err, ErrNoSuchKey) {
		return "<absent>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(o.Inline)
}

// A late attempt of a change that was already applied (the client retried
// elsewhere and went on) gets the first outcome and must not undo what
// came after it.
func TestRepeatedRequestAppliesOnce(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	now := time.UnixMilli(1_795_000_000_000)
	putA := proto.NewRequestID(now)
	v1, err := tf.request(now, putA, OpPutObject, putInline("k", "first"))
	if err != nil {
		t.Fatal(err)
	}
	tf.mustApply(OpPutObject, putInline("k", "second"))
	before := dumpState(t, tf.f)

	v, err := tf.request(now.Add(3*time.Second), putA, OpPutObject, putInline("k", "first"))
	if err != nil || v != v1 {
		t.Fatalf("repeated put answered %v, %v; want the first answer %v", v, err, v1)
	}
	if got := inlineOf(t, tf.f, "k"); got != "second" {
		t.Fatalf("a repeated put overwrote a later one: k = %q", got)
	}
	after := dumpState(t, tf.f)
	delete(before, "m/applied")
	delete(after, "m/applied")
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatal("a repeated request changed the state")
	}

	// A delete that succeeded answers success again, and does not delete
	// an object created since.
	del := proto.NewRequestID(now)
	if _, err := tf.request(now, del, OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "k"}); err != nil {
		t.Fatal(err)
	}
	tf.mustApply(OpPutObject, putInline("k", "recreated"))
	if _, err := tf.request(now.Add(time.Second), del, OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "k"}); err != nil {
		t.Fatalf("repeated delete: %v", err)
	}
	if got := inlineOf(t, tf.f, "k"); got != "recreated" {
		t.Fatalf("a repeated delete removed a later object: k = %q", got)
	}

	// A refused change is refused again the same way, even when it would
	// now succeed.
	missing := proto.NewRequestID(now)
	if _, err := tf.request(now, missing, OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "later"}); !errors.Is(err, ErrNoSuchKey) {
		t.Fatalf("delete of an absent key: %v", err)
	}
	tf.mustApply(OpPutObject, putInline("later", "x"))
	if _, err := tf.request(now.Add(time.Second), missing, OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "later"}); !errors.Is(err, ErrNoSuchKey) || Code(err) != proto.CodeNoSuchKey {
		t.Fatalf("repeated refused delete: %v, want the first answer (no such key)", err)
	}
	if got := inlineOf(t, tf.f, "later"); got != "x" {
		t.Fatalf("a repeated refused delete applied late: later = %q", got)
	}

	// An id reused for another op is refused.
	if _, err := tf.request(now, putA, OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "k"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("id reused for another op: %v", err)
	}
}

// An id issued longer ago than the record is kept is refused, and the
// record of outcomes expires by the leader's clock carried in the entries.
func TestRequestRecordExpires(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	now := time.UnixMilli(1_795_000_000_000)
	old := proto.NewRequestID(now.Add(-requestMaxAge - time.Second))
	if _, err := tf.request(now, old, OpPutObject, putInline("k", "late")); !errors.Is(err, ErrRequestExpired) {
		t.Fatalf("stale id: %v, want ErrRequestExpired", err)
	}
	future := proto.NewRequestID(now.Add(requestMaxAge + time.Second))
	if _, err := tf.request(now, future, OpPutObject, putInline("k", "early")); !errors.Is(err, ErrRequestExpired) {
		t.Fatalf("id from the future: %v, want ErrRequestExpired", err)
	}
	if got := inlineOf(t, tf.f, "k"); got != "<absent>" {
		t.Fatalf("refused ids changed the state: k = %q", got)
	}

	var ids []string
	for i := range 2 * pruneBatch {
		id := proto.NewRequestID(now)
		ids = append(ids, id)
		if _, err := tf.request(now, id, OpPutObject, putInline(fmt.Sprint("k", i), "v")); err != nil {
			t.Fatal(err)
		}
	}
	left := func(ids []string) int {
		st := dumpState(t, tf.f)
		n := 0
		for _, id := range ids {
			if _, ok := st[string(outcomeKey(id))]; ok {
				n++
			}
		}
		return n
	}
	if got := left(ids); got != len(ids) {
		t.Fatalf("%d of %d outcomes recorded before any expired", got, len(ids))
	}
	// Later traffic prunes pruneBatch expired outcomes every pruneEvery
	// indexes until the old ones are gone, and keeps the fresh ones.
	later := now.Add(requestRecordFor + time.Minute)
	var fresh []string
	for left(ids) > 0 {
		if len(fresh) > (len(ids)/pruneBatch+1)*pruneEvery {
			t.Fatalf("%d expired outcomes left after %d later requests", left(ids), len(fresh))
		}
		id := proto.NewRequestID(later)
		fresh = append(fresh, id)
		if _, err := tf.request(later, id, OpPutObject, putInline("x", fmt.Sprint(len(fresh)))); err != nil {
			t.Fatal(err)
		}
	}
	if got := left(fresh); got != len(fresh) {
		t.Fatalf("pruning removed %d outcomes that had not expired", len(fresh)-got)
	}
}

// Entries of both versions decode; damaged version-2 headers are refused
// without touching the state.
func TestCommandVersions(t *testing.T) {
	id := proto.NewRequestID(time.UnixMilli(5))
	v2, err := EncodeRequest(OpDeleteObject, time.UnixMilli(7), id, DeleteObject{Bucket: "b", Key: "k"})
	if err != nil {
		t.Fatal(err)
	}
	h, body, err := decodeHeader(v2)
	if err != nil || h.op != OpDeleteObject || h.at != 7 || h.id != id || string(body) != `{"bucket":"b","key":"k"}` {
		t.Fatalf("decode v2: %+v %q %v", h, body, err)
	}
	for _, bad := range [][]byte{v2[:5], v2[:11], append([]byte{2, 4}, make([]byte, 9)...)} {
		if _, _, err := decodeHeader(bad); !errors.Is(err, ErrBadCommand) {
			t.Errorf("decode %x: %v, want ErrBadCommand", bad, err)
		}
	}
	tf := newTestFSM(t)
	out := tf.f.ApplyBatch([]*raft.Log{{Index: 1, Type: raft.LogCommand, Data: v2[:12]}})
	if r, ok := out[0].(Result); !ok || !errors.Is(r.Err, ErrInvalid) && !errors.Is(r.Err, ErrBadCommand) {
		t.Fatalf("truncated request id applied: %#v", out[0])
	}
}

// Pruning starts at the floor, not at the start of it/, and deletes
// exactly what a walk from the start would: a request whose leader clock
// is behind the floor (a new leader's clock may be) lowers it, and its
// outcome is pruned in its turn. A state without a floor (written before
// it existed) is pruned from the start.
func TestOutcomeFloor(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	floor := func() string {
		t.Helper()
		return dumpState(t, tf.f)[string(keyOutcomeFloor)]
	}
	live := func() []string {
		var keys []string
		for k := range dumpState(t, tf.f) {
			if len(k) > 3 && k[:3] == "it/" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		return keys
	}
	request := func(at time.Time) string {
		t.Helper()
		id := proto.NewRequestID(at)
		if _, err := tf.request(at, id, OpPutObject, putInline("k", "v")); err != nil {
			t.Fatal(err)
		}
		return string(outcomeTimeKey(at.UnixMilli(), id))
	}
	// Requests until the next index that prunes, all at t0: none expired,
	// so the floor becomes the oldest key.
	t0 := time.UnixMilli(1_795_000_000_000)
	var old []string
	for tf.index+1 < pruneEvery {
		old = append(old, request(t0))
	}
	old = append(old, request(t0))
	if got := floor(); got != slices.Min(old) {
		t.Fatalf("floor after a prune with nothing expired: %q, want the first key %q", got, slices.Min(old))
	}
	// A request with a clock behind the floor lowers it.
	behind := request(t0.Add(-time.Second))
	if got := floor(); got != behind {
		t.Fatalf("floor after a key below it: %q, want %q", got, behind)
	}
	// Later traffic prunes all of them, the one behind too, and leaves the
	// floor at the first key it keeps.
	later := t0.Add(requestRecordFor + time.Minute)
	var fresh []string
	for len(live()) > len(fresh) {
		if len(fresh) > 4*pruneEvery {
			t.Fatalf("%d outcomes left, %d fresh", len(live()), len(fresh))
		}
		fresh = append(fresh, request(later))
	}
	if got := floor(); got != slices.Min(fresh) {
		t.Fatalf("floor after pruning %q, want the first key kept %q", got, slices.Min(fresh))
	}

	// A state without a floor prunes from the start of it/.
	plain := newTestFSM(t)
	plain.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	var ids []string
	for plain.index+1 < pruneEvery {
		id := proto.NewRequestID(t0)
		ids = append(ids, id)
		if _, err := plain.request(t0, id, OpPutObject, putInline("k", "v")); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := dumpState(t, plain.f)[string(keyOutcomeFloor)]; ok {
		t.Fatalf("a floor before any prune")
	}
	id := proto.NewRequestID(later)
	if _, err := plain.request(later, id, OpPutObject, putInline("k", "v")); err != nil {
		t.Fatal(err)
	}
	st := dumpState(t, plain.f)
	for _, old := range ids {
		if _, ok := st[string(outcomeKey(old))]; ok {
			t.Fatalf("outcome %s not pruned from a state without a floor", old)
		}
	}
	if got, want := st[string(keyOutcomeFloor)], string(outcomeTimeKey(later.UnixMilli(), id)); got != want {
		t.Fatalf("floor %q, want %q", got, want)
	}
}
