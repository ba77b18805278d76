package kv

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// update runs fn in a transaction tracked by c, commits it and publishes
// its writes, as the state machine does; an error from fn discards it.
func update(t *testing.T, db *badger.DB, c *Cache, fn func(txn *Txn) error) error {
	t.Helper()
	txn := db.NewTransaction(true)
	defer txn.Discard()
	tr := c.Track(txn)
	err := fn(txn)
	tr.Untrack()
	if err != nil {
		return err
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	tr.Publish()
	return nil
}

func TestCacheFollowsCommitsAndDropsDiscards(t *testing.T) {
	db, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c := NewCache(func(k []byte) bool { return bytes.HasPrefix(k, []byte("h/")) }, 3)
	verify := func() {
		t.Helper()
		if err := db.View(c.Verify); err != nil {
			t.Fatal(err)
		}
	}
	// Stored before any tracked transaction: read through the cache.
	if err := db.Update(func(txn *Txn) error { return SetCounter(txn, []byte("h/n"), 7) }); err != nil {
		t.Fatal(err)
	}
	err = update(t, db, c, func(txn *Txn) error {
		n, err := Counter(txn, []byte("h/n"))
		if n != 7 || err != nil {
			t.Fatalf("counter %d, %v", n, err)
		}
		if found, err := Exists(txn, []byte("h/missing")); found || err != nil {
			t.Fatalf("missing key: %t, %v", found, err)
		}
		// A transaction reads its own writes of hot keys.
		if err := AddCounter(txn, []byte("h/n"), 2); err != nil {
			return err
		}
		if n, _ := Counter(txn, []byte("h/n")); n != 9 {
			t.Fatalf("after own write: %d", n)
		}
		if err := Put(txn, []byte("h/rec"), map[string]int{"a": 1}); err != nil {
			return err
		}
		var rec map[string]int
		if err := Get(txn, []byte("h/rec"), &rec); err != nil || rec["a"] != 1 {
			t.Fatalf("own record %v, %v", rec, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	verify()

	// A discarded transaction's writes never reach the cache.
	errAbort := bytes.ErrTooLarge
	err = update(t, db, c, func(txn *Txn) error {
		if err := SetCounter(txn, []byte("h/n"), 100); err != nil {
			return err
		}
		if err := Del(txn, []byte("h/rec")); err != nil {
			return err
		}
		if found, _ := Exists(txn, []byte("h/rec")); found {
			t.Fatal("a deleted key is still there in its transaction")
		}
		return errAbort
	})
	if err != errAbort {
		t.Fatal(err)
	}
	verify()
	err = update(t, db, c, func(txn *Txn) error {
		if n, _ := Counter(txn, []byte("h/n")); n != 9 {
			t.Fatalf("after a discarded write: %d", n)
		}
		raw, ok, err := Raw(txn, []byte("h/rec"))
		if !ok || err != nil || string(raw) != "\x01{\"a\":1}" {
			t.Fatalf("record after a discarded delete: %q %t %v", raw, ok, err)
		}
		raw[1] = 'X' // Raw's bytes are the caller's
		return Del(txn, []byte("h/rec"))
	})
	if err != nil {
		t.Fatal(err)
	}
	verify()

	// More keys than the bound: it starts over and stays right.
	err = update(t, db, c, func(txn *Txn) error {
		for _, k := range []string{"h/a", "h/b", "h/c", "h/d"} {
			if err := SetRaw(txn, []byte(k), []byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.vals) > 3 {
		t.Fatalf("%d values cached, bound 3", len(c.vals))
	}
	verify()

	// A write that bypasses the cache is what Verify exists to catch.
	c.Reset()
	if err := update(t, db, c, func(txn *Txn) error { _, err := Counter(txn, []byte("h/n")); return err }); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(txn *Txn) error { return SetCounter(txn, []byte("h/n"), 1) }); err != nil {
		t.Fatal(err)
	}
	if err := db.View(c.Verify); err == nil || !IsStorage(err) || !strings.Contains(err.Error(), `"h/n"`) {
		t.Fatalf("stale value: %v", err)
	}
	c.Reset()
	verify()
}
