package client

import (
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

// A chunk server that did not answer a read is asked last by later reads
// until it answers again.
func TestSilentReplicaIsAskedLast(t *testing.T) {
	c := &Client{}
	reps := []proto.Target{{ID: "cs1"}, {ID: "cs2"}, {ID: "cs3"}}
	ids := func(ts []proto.Target) string {
		s := ""
		for _, t := range ts {
			s += string(t.ID) + " "
		}
		return s
	}
	if got := ids(c.readOrder(reps)); got != "cs1 cs2 cs3 " {
		t.Fatalf("order with nothing known: %s", got)
	}
	c.noteAnswer("cs1", false)
	if got := ids(c.readOrder(reps)); got != "cs2 cs3 cs1 " {
		t.Fatalf("order after cs1 did not answer: %s", got)
	}
	if got := ids(reps); got != "cs1 cs2 cs3 " {
		t.Fatalf("readOrder changed the caller's slice: %s", got)
	}
	c.noteAnswer("cs1", true)
	if got := ids(c.readOrder(reps)); got != "cs1 cs2 cs3 " {
		t.Fatalf("order after cs1 answered again: %s", got)
	}
}
