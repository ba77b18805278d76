package proto

import (
	"encoding/json"
	"testing"
)

// TestCommandEncoding pins the wire form of commands: copies and deletes
// encode as before reconstructs existed, and a reconstruct carries its
// stripe and sources under "rebuild".
func TestCommandEncoding(t *testing.T) {
	cases := []struct {
		cmd  Command
		want string
	}{
		{Command{Op: CmdCopy, Chunk: 7, Source: Target{ID: "cs1", Address: "h:1"}},
			`{"op":"copy","chunk":7,"source":{"id":"cs1","address":"h:1"}}`},
		{Command{Op: CmdDelete, Chunk: 8}, `{"op":"delete","chunk":8,"source":{"id":"","address":""}}`},
		{Command{Op: CmdReconstruct, Chunk: 9, Rebuild: &Rebuild{K: 2, M: 1, Cell: 4, Length: 10, Shard: 1,
			Sources: []ShardSource{{Shard: 0, Chunk: 8, Source: Target{ID: "cs1", Address: "h:1"}}, {Shard: 2, Chunk: 10, Source: Target{ID: "cs2", Address: "h:2"}}}}},
			`{"op":"reconstruct","chunk":9,"source":{"id":"","address":""},"rebuild":{"k":2,"m":1,"cell":4,"length":10,"shard":1,` +
				`"sources":[{"shard":0,"chunk":8,"source":{"id":"cs1","address":"h:1"}},{"shard":2,"chunk":10,"source":{"id":"cs2","address":"h:2"}}]}}`},
	}
	for _, c := range cases {
		b, err := json.Marshal(c.cmd)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.cmd.Op, b, c.want)
		}
		var back Command
		if err := json.Unmarshal(b, &back); err != nil || (back.Rebuild == nil) != (c.cmd.Rebuild == nil) {
			t.Errorf("%s: decode %+v %v", c.cmd.Op, back, err)
		}
	}
}
