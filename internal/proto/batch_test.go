package proto

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestDecodeChunkBatchRequest(t *testing.T) {
	r, err := DecodeChunkBatchRequest(strings.NewReader(`{"chunks":[3,18446744073709551615,1]}` + "\n"))
	if err != nil || fmt.Sprint(r.Chunks) != "[3 18446744073709551615 1]" {
		t.Fatalf("a good request: %v %v", r, err)
	}
	var ids []string // one more id than allowed, all distinct
	for i := 1; i <= MaxCopyBatch+1; i++ {
		ids = append(ids, fmt.Sprint(i))
	}
	for _, bad := range []string{
		``, `{}`, `{"chunks":null}`, `{"chunks":[]}`, `{"chunks":[0]}`, `{"chunks":[4,5,4]}`,
		`{"chunks":[-1]}`, `{"chunks":[1.5]}`, `{"chunks":["1"]}`, `{"chunks":[18446744073709551616]}`,
		`{"chunks":[1],"offset":3}`, `{"chunks":[1]} {"chunks":[2]}`, `{"chunks":[1]}x`, `[1,2]`,
		`{"chunks":[` + strings.Join(ids, ",") + `]}`,
		`{"chunks":[1` + strings.Repeat(" ", 2*maxBatchRequest) + `]}`,
	} {
		if _, err := DecodeChunkBatchRequest(strings.NewReader(bad)); !errors.Is(err, ErrBadBatch) {
			t.Errorf("%.80q: %v, want ErrBadBatch", bad, err)
		}
	}
	if _, err := DecodeChunkBatchRequest(strings.NewReader(`{"chunks":[` + strings.Join(ids[:MaxCopyBatch], ",") + `]}`)); err != nil {
		t.Errorf("MaxCopyBatch chunks refused: %v", err)
	}
}

func TestBatchRecordEncoding(t *testing.T) {
	b := AppendBatchHeader(nil, 0x0102030405060708, -1)
	if fmt.Sprintf("%x", b) != "0102030405060708ffffffffffffffff" || len(b) != BatchHeaderSize {
		t.Fatalf("header %x", b)
	}
	if id, n := ParseBatchHeader(AppendBatchHeader(nil, 9, 65536)); id != 9 || n != 65536 {
		t.Fatalf("parsed %d %d", id, n)
	}
	if s := AppendBatchStatus(nil, BatchOK); string(s) != "\x00\x02ok" {
		t.Fatalf("status %q", s)
	}
	long := AppendBatchStatus(nil, strings.Repeat("x", MaxBatchStatus+10))
	if len(long) != 2+MaxBatchStatus || long[0] != MaxBatchStatus>>8 || long[1] != MaxBatchStatus&0xff {
		t.Fatalf("a long status is %d bytes", len(long))
	}
}

// A copy with More carries it under "more"; a copy without encodes as
// before (TestCommandEncoding).
func TestCopyBatchEncoding(t *testing.T) {
	cmd := Command{Op: CmdCopy, Chunk: 7, Source: Target{ID: "cs1", Address: "h:1"}, More: []ChunkID{8, 9}}
	b, err := json.Marshal(cmd)
	want := `{"op":"copy","chunk":7,"source":{"id":"cs1","address":"h:1"},"more":[8,9]}`
	if err != nil || string(b) != want {
		t.Fatalf("got %s, want %s (%v)", b, want, err)
	}
	var back Command
	if err := json.Unmarshal(b, &back); err != nil || len(back.More) != 2 || back.More[1] != 9 {
		t.Fatalf("decoded %+v %v", back, err)
	}
}
