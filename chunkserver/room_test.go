package chunkserver

import (
	"testing"
	"time"
)

// The room lets takers in while their bytes fit, holds the next one until
// enough is given back, and lets a taker larger than the room in alone.
func TestRoom(t *testing.T) {
	r := newRoom(100)
	r.take(60)
	r.take(40)
	in := make(chan int64, 2)
	go func() { r.take(30); in <- 30 }() // owned by the test: ends once let in
	select {
	case <-in:
		t.Fatal("a take past the room was let in")
	case <-time.After(50 * time.Millisecond): // it stays out while nothing is given back
	}
	r.give(40)
	if got := <-in; got != 30 {
		t.Fatal(got)
	}
	r.give(60)
	r.give(30)
	r.take(500) // larger than the room, nothing held: alone
	go func() { r.take(1); in <- 1 }()
	select {
	case <-in:
		t.Fatal("a take joined the oversized one")
	case <-time.After(50 * time.Millisecond):
	}
	r.give(500)
	<-in
	if r.used != 1 {
		t.Fatalf("%d bytes held, want 1", r.used)
	}
}
