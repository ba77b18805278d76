package stripe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/granary-store/granary/internal/erasure"
	"github.com/granary-store/granary/internal/proto"
)

// fakeCluster hands out chunks on servers s1..s9 and keeps what each
// shard write stored; writes to a server in failOnce fail the first time.
type fakeCluster struct {
	mu       sync.Mutex
	next     proto.ChunkID
	stored   map[proto.ChunkID][]byte
	failOnce map[proto.NodeID]bool
	allocs   []proto.AllocateRequest
}

func (f *fakeCluster) allocate(_ context.Context, req proto.AllocateRequest) ([]proto.ChunkTargets, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.allocs = append(f.allocs, req)
	var out []proto.ChunkTargets
	for s := 1; s <= 9 && len(out) < req.Count; s++ {
		id := proto.NodeID(fmt.Sprintf("s%d", s))
		if slices.Contains(req.Exclude, id) {
			continue
		}
		f.next++
		out = append(out, proto.ChunkTargets{ID: f.next, Targets: []proto.Target{{ID: id}}})
	}
	if len(out) < req.Count {
		return nil, errors.New("not enough servers")
	}
	return out, nil
}

func (f *fakeCluster) write(_ context.Context, ct proto.ChunkTargets, body io.Reader, n int64) error {
	b, err := io.ReadAll(body)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failOnce[ct.Targets[0].ID] {
		delete(f.failOnce, ct.Targets[0].ID)
		return errors.New("disk full")
	}
	if err != nil || int64(len(b)) != n {
		return fmt.Errorf("%d of %d bytes: %v", len(b), n, err)
	}
	f.stored[ct.ID] = b
	return nil
}

// TestWriteRewritesAFailedShardElsewhere: the shards are those a fresh
// encode makes; a shard whose server failed is written again, alone, on a
// server that holds no other shard of the stripe and is not the one that
// failed.
func TestWriteRewritesAFailedShardElsewhere(t *testing.T) {
	data := make([]byte, 300_001)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	f := &fakeCluster{stored: map[proto.ChunkID][]byte{}, failOnce: map[proto.NodeID]bool{"s2": true}}
	var failed []proto.NodeID
	w := Writer{Allocate: f.allocate, WriteShard: f.write, MaxAttempts: 3, Failed: func(s proto.NodeID) { failed = append(failed, s) }}
	open := func() (io.Reader, error) { return bytes.NewReader(data), nil }
	st, written, err := w.Write(context.Background(), open, int64(len(data)), proto.StripeShape{K: 4, M: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Shards) != 6 || len(written) != 6 || !slices.Equal(failed, []proto.NodeID{"s2"}) {
		t.Fatalf("stripe %+v, written %+v, failed %v", st, written, failed)
	}
	if re := f.allocs[1]; re.Count != 1 || !slices.Contains(re.Exclude, "s2") || len(re.Exclude) != 6 {
		t.Fatalf("the replacement was allocated with %+v", re)
	}
	servers := map[proto.NodeID]bool{}
	for _, ct := range written {
		servers[ct.Targets[0].ID] = true
	}
	if len(servers) != 6 || servers["s2"] {
		t.Fatalf("shards on %v", servers)
	}
	l := erasure.Layout{K: 4, M: 2, Cell: st.Cell}
	want := make([]*bytes.Buffer, 6)
	sinks := make([]io.Writer, 6)
	for i := range want {
		want[i] = &bytes.Buffer{}
		sinks[i] = want[i]
	}
	enc, err := erasure.NewEncoder(l, sinks)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Write(data); err != nil || enc.Close() != nil {
		t.Fatal(err)
	}
	for i, id := range st.Shards {
		if !bytes.Equal(f.stored[id], want[i].Bytes()) {
			t.Errorf("shard %d (chunk %d): %d bytes differ from the encoding's %d", i, id, len(f.stored[id]), want[i].Len())
		}
	}
}

// TestWriteStopsOnASourceError: a source that fails is no server's fault:
// the write fails at once, without allocating replacements.
func TestWriteStopsOnASourceError(t *testing.T) {
	f := &fakeCluster{stored: map[proto.ChunkID][]byte{}, failOnce: map[proto.NodeID]bool{}}
	w := Writer{Allocate: f.allocate, WriteShard: f.write, MaxAttempts: 5}
	boom := errors.New("replica gone")
	open := func() (io.Reader, error) {
		return io.MultiReader(bytes.NewReader(make([]byte, 1000)), iotest{boom}), nil
	}
	if _, _, err := w.Write(context.Background(), open, 100_000, proto.StripeShape{K: 2, M: 1}); !errors.Is(err, boom) {
		t.Fatalf("write with a failing source: %v", err)
	}
	if len(f.allocs) != 1 {
		t.Fatalf("%d allocations: replacements were allocated for a source error", len(f.allocs))
	}
}

type iotest struct{ err error }

func (r iotest) Read([]byte) (int, error) { return 0, r.err }

func TestCellFor(t *testing.T) {
	for _, c := range []struct {
		n    int64
		k    int
		want int64
	}{{0, 4, erasure.CellAlign}, {1, 4, erasure.CellAlign}, {4 << 20, 4, erasure.DefaultCell}, {100_000, 4, 25_024}} {
		if got := CellFor(c.n, c.k); got != c.want {
			t.Errorf("CellFor(%d, %d) = %d, want %d", c.n, c.k, got, c.want)
		}
	}
}
