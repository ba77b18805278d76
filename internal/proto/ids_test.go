package proto

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// TestIDsEncodeAsBefore: the wire structs that carry chunk and node ids
// encode to the bytes they did when the ids were plain uint64 and string
// (a ChunkID a JSON number, a NodeID a JSON string), and decode back.
func TestIDsEncodeAsBefore(t *testing.T) {
	golden := []struct {
		json string
		val  any
	}{
		{`{"chunk":7,"size":5,"replicas":["cs1","cs2"]}`,
			&ChunkWriteResult{Chunk: 7, Size: 5, Replicas: []NodeID{"cs1", "cs2"}}},
		{`{"count":2,"replication":3,"exclude":["cs4"]}`,
			&AllocateRequest{Count: 2, Replication: 3, Exclude: []NodeID{"cs4"}}},
		{`{"ids":[18446744073709551615,1],"chunks":[{"id":1,"targets":[{"id":"cs1","address":"h:1"}]}]}`,
			&AllocateResult{IDs: []ChunkID{1<<64 - 1, 1}, Chunks: []ChunkTargets{{ID: 1, Targets: []Target{{ID: "cs1", Address: "h:1"}}}}}},
		{`{"chunk":9,"server":"cs2","reason":"crc"}`, &CorruptReport{Chunk: 9, Server: "cs2", Reason: "crc"}},
		{`{"id":"cs1","usedBytes":0,"capacityBytes":0,"chunks":2,"full":true,"report":[3,4],"removed":[5],"corrupt":[6],"failed":[7]}`,
			&HeartbeatRequest{ID: "cs1", Chunks: 2, Full: true, Report: []ChunkID{3, 4}, Removed: []ChunkID{5}, Corrupt: []ChunkID{6}, Failed: []ChunkID{7}}},
		{`{"op":"reconstruct","chunk":11,"source":{"id":"","address":""},"rebuild":{"k":2,"m":1,"cell":4,"length":10,"shard":1,"sources":[{"shard":0,"chunk":10,"source":{"id":"cs1","address":"h:1"}}]}}`,
			&Command{Op: CmdReconstruct, Chunk: 11, Rebuild: &Rebuild{K: 2, M: 1, Cell: 4, Length: 10, Shard: 1,
				Sources: []ShardSource{{Shard: 0, Chunk: 10, Source: Target{ID: "cs1", Address: "h:1"}}}}}},
		{`{"chunk":10,"offset":0,"length":10,"stripe":{"k":2,"m":1,"cell":4,"shards":[10,11,12]}}`,
			&Extent{Chunk: 10, Length: 10, Stripe: &Stripe{K: 2, M: 1, Cell: 4, Shards: []ChunkID{10, 11, 12}}}},
		{`{"id":"m2","raftAddr":"r:1","httpAddr":"h:2"}`, &JoinRequest{ID: "m2", RaftAddr: "r:1", HTTPAddr: "h:2"}},
		{`{"id":"m1","state":"leader","leader":"h:1","leaderId":"m1","ready":true,"applied":3}`,
			&Health{ID: "m1", State: "leader", Leader: "h:1", LeaderID: "m1", Ready: true, Applied: 3}},
		{`{"code":"Unavailable","message":"x","server":"cs3"}`, &Error{Code: CodeUnavailable, Message: "x", Server: "cs3"}},
	}
	for _, g := range golden {
		enc, err := json.Marshal(g.val)
		if err != nil || string(enc) != g.json {
			t.Errorf("encode %T:\n got %s\nwant %s (%v)", g.val, enc, g.json, err)
		}
		fresh := reflect.New(reflect.TypeOf(g.val).Elem()).Interface()
		if err := json.Unmarshal([]byte(g.json), fresh); err != nil || !reflect.DeepEqual(fresh, g.val) {
			t.Errorf("decode %s:\n got %+v\nwant %+v (%v)", g.json, fresh, g.val, err)
		}
	}
}

// TestValidNodeID: ValidID checks a NodeID by the same rules as a string.
func TestValidNodeID(t *testing.T) {
	if err := ValidID("chunk server", NodeID("cs-1.r_2")); err != nil {
		t.Errorf("a valid node id refused: %v", err)
	}
	for _, id := range []NodeID{"", "cs 1", "cs/1", NodeID(make([]byte, MaxNodeIDLen+1))} {
		if err := ValidID("chunk server", id); !errors.Is(err, ErrInvalidName) {
			t.Errorf("node id %q: %v, want ErrInvalidName", id, err)
		}
	}
}
