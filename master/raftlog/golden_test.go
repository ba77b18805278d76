package raftlog

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

var update = flag.Bool("update", false, "rewrite the golden segment in testdata/ (only for a new format version)")

// goldenEntries are the entries of testdata/v1: every field set and unset.
func goldenEntries() []*raft.Log {
	return []*raft.Log{
		{Index: 7, Term: 2, Type: raft.LogCommand, Data: []byte(`{"op":"put"}`), AppendedAt: time.Unix(1764460800, 123456789)},
		{Index: 8, Term: 2, Type: raft.LogNoop},
		{Index: 9, Term: 3, Type: raft.LogConfiguration, Data: []byte{0, 1, 2, 255}, Extensions: []byte("ext")},
		{Index: 10, Term: 3, Type: raft.LogBarrier, Extensions: []byte("only-ext")},
	}
}

// TestGoldenSegmentV1 guards format version 1: the segment the entries
// make is byte for byte the one in testdata, and that file, as an older
// build wrote it, opens to the same entries.
func TestGoldenSegmentV1(t *testing.T) {
	const size = 512
	golden := filepath.Join("testdata", "v1", segmentName(7))
	dir := t.TempDir()
	s, err := Open(dir, Options{SegmentSize: size})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.StoreLogs(goldenEntries()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	made, err := os.ReadFile(filepath.Join(dir, segmentName(7)))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		os.MkdirAll(filepath.Dir(golden), 0o755)
		if err := os.WriteFile(golden, made, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(made, want) {
		t.Fatalf("segment format changed:\n got %x\nwant %x", made, want)
	}

	old := t.TempDir()
	if err := os.WriteFile(filepath.Join(old, segmentName(7)), want, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = Open(old, Options{SegmentSize: size})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, w := range goldenEntries() {
		var got raft.Log
		if err := s.GetLog(w.Index, &got); err != nil {
			t.Fatal(err)
		}
		if got.Index != w.Index || got.Term != w.Term || got.Type != w.Type || !bytes.Equal(got.Data, w.Data) ||
			!bytes.Equal(got.Extensions, w.Extensions) || !got.AppendedAt.Equal(w.AppendedAt) {
			t.Fatalf("entry %d: got %+v, want %+v", w.Index, got, w)
		}
	}
	if first, _ := s.FirstIndex(); first != 7 {
		t.Fatalf("first %d", first)
	}
	if last, _ := s.LastIndex(); last != 10 {
		t.Fatalf("last %d", last)
	}
}
