package chunkindex

import (
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/kv"
)

// Mirror is a copy in memory of the parts of the index the healer reads
// every round: the referenced chunks with their owners' buckets (c/), the
// pending deletions (g/) and the stripes (s/). Scanning those prefixes
// each round cost time in proportion to every chunk stored, and more:
// Badger keeps the marker of a deleted key until compaction drops it, so
// a scan after mass deletes stepped over every chunk deleted since.
// The mirror is loaded once (Load) and then follows the stored index
// through the Journal of each committed transaction (Apply).
//
// A Mirror is not safe for concurrent use; its owner locks.
type Mirror struct {
	refs    map[proto.ChunkID]string // chunk → bucket of what references it
	queued  map[proto.ChunkID]bool
	stripes map[proto.ChunkID]Stripe
	names   map[string]string // one copy of each bucket name
}

// Load reads the mirror of the index in txn.
func Load(txn *kv.Txn) (*Mirror, error) {
	m := &Mirror{queued: Queued(txn), names: map[string]string{}}
	refs, err := Referenced(txn)
	if err != nil {
		return nil, err
	}
	for id, b := range refs {
		refs[id] = m.intern(b)
	}
	m.refs = refs
	if m.stripes, err = Stripes(txn); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Mirror) intern(bucket string) string {
	if s, ok := m.names[bucket]; ok {
		return s
	}
	m.names[bucket] = bucket
	return bucket
}

// RangeRefs calls fn with each referenced chunk and the bucket of what
// references it (Referenced), in no order.
func (m *Mirror) RangeRefs(fn func(id proto.ChunkID, bucket string)) {
	for id, b := range m.refs {
		fn(id, b)
	}
}

// Referenced reports whether an object or part references id.
func (m *Mirror) Referenced(id proto.ChunkID) bool {
	_, ok := m.refs[id]
	return ok
}

// RangeStripes calls fn with each stripe of the index (Stripes), in no
// order. The record's shard list is shared: read-only.
func (m *Mirror) RangeStripes(fn func(first proto.ChunkID, st Stripe)) {
	for id, st := range m.stripes {
		fn(id, st)
	}
}

// Queued returns a copy of the pending deletions (Queued).
func (m *Mirror) Queued() map[proto.ChunkID]bool { return maps.Clone(m.queued) }

// Stripes returns a copy of the stripe index (Stripes). The records'
// shard lists are shared: read-only.
func (m *Mirror) Stripes() map[proto.ChunkID]Stripe { return maps.Clone(m.stripes) }

// Apply brings the mirror up to date with a committed transaction's
// journal. A journal of a transaction that was discarded must not be
// applied.
func (m *Mirror) Apply(j *Journal) {
	for _, o := range j.ops {
		switch o.kind {
		case opRef:
			bucket, _, _ := strings.Cut(o.ref, "/")
			m.refs[o.id] = m.intern(bucket)
		case opUnref:
			delete(m.refs, o.id)
		case opQueue:
			m.queued[o.id] = true
		case opFinish:
			delete(m.queued, o.id)
		case opStripe:
			m.stripes[o.id] = o.stripe
		case opUnstripe:
			delete(m.stripes, o.id)
		}
	}
}

// A Journal lists, in order, the changes one transaction made to the
// index's c/, g/ and s/ entries, for a Mirror to follow once the
// transaction has committed. Record starts one for a transaction; the
// writers here add to it; Stop ends it.
type Journal struct {
	ops []op
	// m, when set, is the mirror of the state the transaction started
	// from, and now the last c/ and g/ change of each chunk the
	// transaction touched: together, what the transaction would read
	// under c/ and g/ (known).
	m   *Mirror
	now map[proto.ChunkID]touched
}

// touched is a transaction's last change to a chunk's c/ and g/ entries.
type touched struct {
	ref, queued int8 // 0: unchanged, 1: set, -1: deleted
}

type opKind uint8

const (
	opRef      opKind = iota // c/ set
	opUnref                  // c/ deleted
	opQueue                  // g/ set pending
	opFinish                 // g/ deleted (moved to x/)
	opStripe                 // s/ set
	opUnstripe               // s/ deleted
)

type op struct {
	kind   opKind
	id     proto.ChunkID
	ref    string
	stripe Stripe
}

// journals maps each transaction being recorded to its journal. The
// writers here take a transaction and nothing else, as every caller in
// master/meta hands them one; keying the journal by it keeps those
// signatures (and their twenty-odd call sites) as they are.
var journals sync.Map // *kv.Txn → *Journal

// Record starts recording txn's changes to the index and returns the
// journal they go to. Call Stop before txn commits or is discarded. With
// m, the mirror of the state txn started from, CheckFresh reads c/ and g/
// from it and the journal instead of from Badger; the caller keeps m
// unchanged until txn commits or is discarded.
func Record(txn *kv.Txn, m *Mirror) *Journal {
	j := &Journal{m: m}
	if m != nil {
		j.now = map[proto.ChunkID]touched{}
	}
	journals.Store(txn, j)
	return j
}

// Stop ends the recording Record started for txn.
func Stop(txn *kv.Txn) { journals.Delete(txn) }

func note(txn *kv.Txn, o op) {
	if j, ok := journals.Load(txn); ok {
		jj := j.(*Journal)
		jj.ops = append(jj.ops, o)
		if jj.now != nil {
			t := jj.now[o.id]
			switch o.kind {
			case opRef:
				t.ref = 1
			case opUnref:
				t.ref = -1
			case opQueue:
				t.queued = 1
			case opFinish:
				t.queued = -1
			default:
				return
			}
			jj.now[o.id] = t
		}
	}
}

// referencedOrQueued answers, from the mirror and the journal, whether
// txn would find id under c/ or g/; ok is false when txn is not recorded
// with a mirror.
func referencedOrQueued(txn *kv.Txn, id proto.ChunkID) (found, ok bool) {
	v, recorded := journals.Load(txn)
	if !recorded || v.(*Journal).m == nil {
		return false, false
	}
	j := v.(*Journal)
	t := j.now[id]
	ref := t.ref == 1 || t.ref == 0 && j.m.Referenced(id)
	queued := t.queued == 1 || t.queued == 0 && j.m.queued[id]
	return ref || queued, true
}

// Verify compares the mirror with the index stored in txn and describes
// the first difference it finds (nil: none).
func (m *Mirror) Verify(txn *kv.Txn) error {
	s, err := Load(txn)
	if err != nil {
		return err
	}
	if d := diff("reference", m.refs, s.refs); d != "" {
		return kv.Storage(fmt.Errorf("chunk index mirror: %s", d))
	}
	if d := diff("pending deletion", m.queued, s.queued); d != "" {
		return kv.Storage(fmt.Errorf("chunk index mirror: %s", d))
	}
	for id, r := range s.stripes {
		if mr, ok := m.stripes[id]; !ok || !reflect.DeepEqual(mr, r) {
			return kv.Storage(fmt.Errorf("chunk index mirror: stripe %d is %+v, stored %+v", id, mr, r))
		}
	}
	if len(m.stripes) != len(s.stripes) {
		return kv.Storage(fmt.Errorf("chunk index mirror: %d stripes, %d stored", len(m.stripes), len(s.stripes)))
	}
	return nil
}

func diff[V comparable](what string, mirror, stored map[proto.ChunkID]V) string {
	for id, v := range stored {
		if mv, ok := mirror[id]; !ok || mv != v {
			return fmt.Sprintf("%s of chunk %d is %v (present: %t), stored %v", what, id, mv, ok, v)
		}
	}
	for id, v := range mirror {
		if _, ok := stored[id]; !ok {
			return fmt.Sprintf("%s of chunk %d is %v, not stored", what, id, v)
		}
	}
	return ""
}
