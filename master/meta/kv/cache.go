package kv

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// A Cache keeps in memory the stored values of the few keys nearly every
// command reads: counters, the bucket records. Reading one from Badger
// walks every memtable and, once it has been flushed, every level's table
// that may hold it, and the deletion markers a workload of deletes leaves
// make that walk longer the longer the state lives; with the cache a
// command reads such a key from Badger once.
//
// The state machine is the only writer of the database and applies one
// transaction at a time. It tracks each of its transactions (Track): the
// point reads of hot keys in it (Get, Raw, Counter, Exists) go through the
// cache, and its writes of hot keys (SetRaw, Put, Del) are kept aside until
// the transaction has committed (Tracked.Publish) or are dropped with it.
// Reads outside a tracked transaction (the read-only views) go to Badger
// as before. Whoever replaces the database under a cache resets it.
type Cache struct {
	hot func(key []byte) bool
	max int

	mu   sync.Mutex
	vals map[string]cached
}

type cached struct {
	val []byte
	ok  bool // false: the key is absent
}

// NewCache returns a cache of the keys hot reports true for, holding at
// most max of them (it starts over when it would hold more).
func NewCache(hot func(key []byte) bool, max int) *Cache {
	return &Cache{hot: hot, max: max, vals: map[string]cached{}}
}

// Reset forgets every cached value.
func (c *Cache) Reset() {
	c.mu.Lock()
	c.vals = map[string]cached{}
	c.mu.Unlock()
}

func (c *Cache) lookup(key []byte) (cached, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.vals[string(key)]
	return v, ok
}

func (c *Cache) store(key string, v cached) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.vals[key]; !ok && len(c.vals) >= c.max {
		c.vals = map[string]cached{}
	}
	c.vals[key] = v
}

// Verify compares every cached value with the one stored in txn (a
// transaction that is not tracked) and describes the first difference.
func (c *Cache) Verify(txn *Txn) error {
	c.mu.Lock()
	vals := maps.Clone(c.vals)
	c.mu.Unlock()
	for _, k := range slices.Sorted(maps.Keys(vals)) {
		want := vals[k]
		got, ok, err := Raw(txn, []byte(k))
		if err != nil {
			return err
		}
		if ok != want.ok || !bytes.Equal(got, want.val) {
			return Storage(fmt.Errorf("value cache: %q is %q (present: %t), stored %q (present: %t)", k, want.val, want.ok, got, ok))
		}
	}
	return nil
}

// Tracked is a transaction whose hot keys go through a Cache.
type Tracked struct {
	c      *Cache
	txn    *Txn
	writes map[string]cached
}

// tracked maps each tracked transaction to its Tracked. The readers and
// writers here take a transaction and nothing else, as every caller in
// master/meta hands them one.
var tracked sync.Map // *Txn → *Tracked

// Track makes txn, an update transaction of the cache's database, read
// and write its hot keys through c. Call Untrack before txn commits or is
// discarded, and Publish once it has committed.
func (c *Cache) Track(txn *Txn) *Tracked {
	t := &Tracked{c: c, txn: txn, writes: map[string]cached{}}
	tracked.Store(txn, t)
	return t
}

// Untrack ends the tracking Track started.
func (t *Tracked) Untrack() { tracked.Delete(t.txn) }

// Publish makes the writes of the committed transaction the cached
// values.
func (t *Tracked) Publish() {
	for k, v := range t.writes {
		t.c.store(k, v)
	}
}

// hotFor returns txn's Tracked when key is hot in its cache.
func hotFor(txn *Txn, key []byte) *Tracked {
	v, ok := tracked.Load(txn)
	if !ok {
		return nil
	}
	t := v.(*Tracked)
	if !t.c.hot(key) {
		return nil
	}
	return t
}

// read returns the value of a hot key as txn sees it. The bytes are
// shared: read-only.
func (t *Tracked) read(key []byte) (cached, error) {
	if v, ok := t.writes[string(key)]; ok {
		return v, nil
	}
	if v, ok := t.c.lookup(key); ok {
		return v, nil
	}
	// Not written in txn, so Badger answers with the last commit, which
	// is the state machine's own: the value every later transaction sees
	// until one writes it.
	item, err := t.txn.Get(key)
	var v cached
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
	case err != nil:
		return cached{}, Storage(err)
	default:
		b, err := item.ValueCopy(nil)
		if err != nil {
			return cached{}, Storage(err)
		}
		v = cached{val: b, ok: true}
	}
	t.c.store(string(key), v)
	return v, nil
}

func (t *Tracked) wrote(key, val []byte, ok bool) {
	t.writes[string(key)] = cached{val: bytes.Clone(val), ok: ok}
}
