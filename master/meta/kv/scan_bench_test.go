package kv

import (
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// BenchmarkScan is a full scan of 100,000 small records, the shape of the
// healer's scan of the chunk index every repair round.
func BenchmarkScan(b *testing.B) {
	db, err := badger.Open(badger.DefaultOptions(b.TempDir()).WithLogger(nil))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	wb := db.NewWriteBatch()
	for i := 0; i < 100_000; i++ {
		if err := wb.Set([]byte(fmt.Sprintf("c/%012d", i)), []byte("\x01{\"r\":[1,2,3]}")); err != nil {
			b.Fatal(err)
		}
	}
	if err := wb.Flush(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		n := 0
		err := db.View(func(txn *Txn) error {
			return Scan(txn, []byte("c/"), func(k, v []byte) error { n++; return nil })
		})
		if err != nil || n != 100_000 {
			b.Fatalf("%d records, %v", n, err)
		}
	}
}
