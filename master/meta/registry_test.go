package meta

import (
	"bytes"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/granary-store/granary/internal/proto"
)

// nodeIDs lists the registry as Nodes reads it: id=state, in key order.
func nodeIDs(t *testing.T, f *FSM) []string {
	t.Helper()
	ns, err := f.Nodes()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range ns {
		out = append(out, string(n.ID)+"="+n.State)
	}
	return out
}

// Nodes keeps its last read, and every committed change of the registry
// (a registration, a state, a batch with one in it, a restored snapshot)
// is in the next read.
func TestNodesFollowChanges(t *testing.T) {
	tf := newTestFSM(t)
	if got := nodeIDs(t, tf.f); len(got) != 0 {
		t.Fatalf("empty registry read %v", got)
	}
	tf.mustApply(OpRegisterNode, RegisterNode{Node: Node{ID: "n1", Address: "127.0.0.1:1"}})
	if got := nodeIDs(t, tf.f); !slices.Equal(got, []string{"n1=active"}) {
		t.Fatalf("after a registration: %v", got)
	}
	// A caller's changes to what it got stay its own.
	ns, _ := tf.f.Nodes()
	ns[0].State = "scribbled"
	if got := nodeIDs(t, tf.f); !slices.Equal(got, []string{"n1=active"}) {
		t.Fatalf("a caller's change reached the registry: %v", got)
	}
	tf.mustApply(OpSetNodeState, SetNodeState{ID: "n1", State: NodeDraining})
	if got := nodeIDs(t, tf.f); !slices.Equal(got, []string{"n1=draining"}) {
		t.Fatalf("after a state change: %v", got)
	}
	// A batch whose registration is not its first entry.
	var logs []*raft.Log
	for _, c := range []struct {
		o Op
		p any
	}{{OpAllocChunks, AllocChunks{Count: 1}}, {OpRegisterNode, RegisterNode{Node: Node{ID: "n2", Address: "127.0.0.1:2"}}}} {
		data, err := EncodeCommand(c.o, c.p)
		if err != nil {
			t.Fatal(err)
		}
		tf.index++
		logs = append(logs, &raft.Log{Index: tf.index, Type: raft.LogCommand, Data: data})
	}
	tf.f.ApplyBatch(logs)
	if got := nodeIDs(t, tf.f); !slices.Equal(got, []string{"n1=draining", "n2=active"}) {
		t.Fatalf("after a batch: %v", got)
	}
	// Other commands leave the registry read as it was.
	tf.mustApply(OpAllocChunks, AllocChunks{Count: 1})
	if got := nodeIDs(t, tf.f); !slices.Equal(got, []string{"n1=draining", "n2=active"}) {
		t.Fatalf("after another command: %v", got)
	}

	// A restored snapshot brings its own registry.
	src := newTestFSM(t)
	src.mustApply(OpRegisterNode, RegisterNode{Node: Node{ID: "n9", Address: "127.0.0.1:9"}})
	for range 10 {
		src.mustApply(OpAllocChunks, AllocChunks{Count: 1}) // newer than tf's state
	}
	if err := tf.f.Restore(io.NopCloser(bytes.NewReader(snapshotBytes(t, src.f)))); err != nil {
		t.Fatal(err)
	}
	if got := nodeIDs(t, tf.f); !slices.Equal(got, []string{"n9=active"}) {
		t.Fatalf("after a restore: %v", got)
	}
}

// Readers racing with registrations: once an index is applied, a read
// holds what it registered.
func TestNodesConcurrentWithChanges(t *testing.T) {
	tf := newTestFSM(t)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := tf.f.Nodes(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := range 50 {
		id := "n" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		tf.mustApply(OpRegisterNode, RegisterNode{Node: Node{ID: proto.NodeID(id), Address: "127.0.0.1:1"}})
		if got := nodeIDs(t, tf.f); len(got) != i+1 {
			t.Fatalf("after %d registrations Nodes read %d", i+1, len(got))
		}
	}
	close(stop)
	wg.Wait()
}
