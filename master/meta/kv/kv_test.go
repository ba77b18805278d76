package kv

import (
	"bytes"
	"errors"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

func TestRecords(t *testing.T) {
	db, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	errGone := errors.New("gone")
	err = db.Update(func(txn *Txn) error {
		if err := Put(txn, []byte("x/b"), map[string]int{"n": 2}); err != nil {
			return err
		}
		if err := SetRaw(txn, []byte("x/a"), []byte("\x02{}")); err != nil { // a format this build does not know
			return err
		}
		if err := AddCounter(txn, []byte("m/c"), 5); err != nil {
			return err
		}
		return AddCounter(txn, []byte("m/c"), -2)
	})
	if err != nil {
		t.Fatal(err)
	}
	err = db.View(func(txn *Txn) error {
		item, err := txn.Get([]byte("x/b"))
		if err != nil {
			return err
		}
		raw, _ := item.ValueCopy(nil)
		if !bytes.Equal(raw, []byte("\x01{\"n\":2}")) {
			t.Errorf("stored %q", raw)
		}
		var v map[string]int
		if err := Get(txn, []byte("x/b"), &v); err != nil || v["n"] != 2 {
			t.Errorf("Get: %v, %v", v, err)
		}
		if err := Get(txn, []byte("x/a"), &v); !IsStorage(err) {
			t.Errorf("unknown format: %v, want a storage error", err)
		}
		if err := NotFoundAs(Get(txn, []byte("x/none"), &v), errGone); !errors.Is(err, errGone) {
			t.Errorf("missing key: %v", err)
		}
		if ok, err := Exists(txn, []byte("x/none")); ok || err != nil {
			t.Errorf("Exists of a missing key: %v, %v", ok, err)
		}
		if n, err := Counter(txn, []byte("m/c")); n != 3 || err != nil {
			t.Errorf("counter %d, %v", n, err)
		}
		var keys []string
		err = Scan(txn, []byte("x/"), func(k, _ []byte) error { keys = append(keys, string(k)); return nil })
		if err != nil || len(keys) != 2 || keys[0] != "x/a" {
			t.Errorf("Scan: %v, %v", keys, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
