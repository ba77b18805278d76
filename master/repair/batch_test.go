package repair

import (
	"fmt"
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

// batchCopies never puts more than proto.MaxCopyBatch chunks in one
// command, whatever Limits.Batch says, and leaves every other command,
// and a copy that already carries More, as it was, in place.
func TestBatchCopiesBounds(t *testing.T) {
	in := &Input{Sizes: map[proto.ChunkID]int64{}, Limits: Limits{Batch: 1 << 20}}
	src := proto.Target{ID: "n1", Address: "n1:7000"}
	cmds := []proto.Command{{Op: proto.CmdDelete, Chunk: 99999}}
	for c := proto.ChunkID(1); c <= proto.MaxCopyBatch+10; c++ {
		cmds = append(cmds, proto.Command{Op: proto.CmdCopy, Chunk: c, Source: src})
	}
	cmds = append(cmds, proto.Command{Op: proto.CmdCopy, Chunk: 5000, Source: src, More: []proto.ChunkID{5001}},
		proto.Command{Op: proto.CmdReconstruct, Chunk: 6000})
	out := batchCopies(in, cmds)
	var got []string
	for _, c := range out {
		got = append(got, fmt.Sprintf("%s %d+%d", c.Op, c.Chunk, len(c.More)))
	}
	want := fmt.Sprint([]string{"delete 99999+0", fmt.Sprintf("copy 1+%d", proto.MaxCopyBatch-1),
		fmt.Sprintf("copy %d+9", proto.MaxCopyBatch+1), "copy 5000+1", "reconstruct 6000+0"})
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	for _, c := range out {
		if err := (&proto.ChunkBatchRequest{Chunks: append([]proto.ChunkID{c.Chunk}, c.More...)}).Validate(); err != nil {
			t.Errorf("%s %d: %v", c.Op, c.Chunk, err)
		}
	}
}

// A chunk over Limits.BatchBytes travels alone and leaves the batch of
// its source open, so the small chunks after it still join it.
func TestBatchCopiesLargeChunkAlone(t *testing.T) {
	in := &Input{Sizes: map[proto.ChunkID]int64{1: 10, 2: 500, 3: 10, 4: 10}, Limits: Limits{Batch: 8, BatchBytes: 100}}
	src := proto.Target{ID: "n1", Address: "n1:7000"}
	var cmds []proto.Command
	for c := proto.ChunkID(1); c <= 4; c++ {
		cmds = append(cmds, proto.Command{Op: proto.CmdCopy, Chunk: c, Source: src})
	}
	var got []string
	for _, c := range batchCopies(in, cmds) {
		got = append(got, fmt.Sprint(append([]proto.ChunkID{c.Chunk}, c.More...)))
	}
	if fmt.Sprint(got) != "[[1 3 4] [2]]" {
		t.Fatalf("got %v, want [[1 3 4] [2]]", got)
	}
}
