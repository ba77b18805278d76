package meta

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/validate"
)

// testFSM is a state machine on a temp dir, fed entries directly (no Raft)
// so state-level behaviour can be tested exactly and fast.
type testFSM struct {
	t     testing.TB
	f     *FSM
	index uint64
}

func newTestFSM(t testing.TB) *testFSM {
	f, err := Open(t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	tf := &testFSM{t: t, f: f}
	// Whatever a test did, the chunk index in memory matches the stored
	// one (a test that swapped tf.f checks the one it left).
	t.Cleanup(func() {
		if err := tf.f.verifyIndex(); err != nil {
			t.Errorf("after the test: %v", err)
		}
	})
	return tf
}

// verifyIndex checks the chunk index's mirror against the stored index
// (chunkindex.Mirror.Verify).
func (f *FSM) verifyIndex() error {
	f.idxMu.RLock()
	defer f.idxMu.RUnlock()
	if err := f.view(f.cache.Verify); err != nil {
		return err
	}
	return f.view(f.idx.Verify)
}

// snapshotBytes is the snapshot stream of f's state now.
func snapshotBytes(t testing.TB, f *FSM) []byte {
	t.Helper()
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	var buf bytes.Buffer
	if err := snap.(*fsmSnapshot).write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// apply runs one encoded command and returns its result.
func (tf *testFSM) apply(o Op, payload any) (any, error) {
	tf.t.Helper()
	data, err := EncodeCommand(o, payload)
	if err != nil {
		tf.t.Fatal(err)
	}
	return tf.applyRaw(data)
}

func (tf *testFSM) applyRaw(data []byte) (any, error) {
	tf.index++
	out := tf.f.ApplyBatch([]*raft.Log{{Index: tf.index, Type: raft.LogCommand, Data: data}})
	r, ok := out[0].(Result)
	if !ok {
		tf.t.Fatalf("apply returned %T %v", out[0], out[0])
	}
	return r.Val, r.Err
}

func (tf *testFSM) mustApply(o Op, payload any) any {
	tf.t.Helper()
	v, err := tf.apply(o, payload)
	if err != nil {
		tf.t.Fatalf("%v: %v", o, err)
	}
	return v
}

// bulk commits inline objects for keys in batches of one transaction each.
func (tf *testFSM) bulk(bucket string, keys []string) {
	tf.t.Helper()
	for len(keys) > 0 {
		n := min(len(keys), 2000)
		logs := make([]*raft.Log, n)
		for i, k := range keys[:n] {
			data, _ := EncodeCommand(OpPutObject, PutObject{Object: proto.Object{Bucket: bucket, Key: k, Size: 1, Inline: []byte("x")}})
			tf.index++
			logs[i] = &raft.Log{Index: tf.index, Type: raft.LogCommand, Data: data}
		}
		for i, r := range tf.f.ApplyBatch(logs) {
			if res, ok := r.(Result); !ok || res.Err != nil {
				tf.t.Fatalf("bulk put %q: %v", keys[i], r)
			}
		}
		keys = keys[n:]
	}
}

func TestUnknownVersionAndMalformedCommandsChangeNothing(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "keep"}})
	good, _ := EncodeCommand(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "other"}})
	cases := map[string]struct {
		data []byte
		want error
	}{
		"future version": {append([]byte{9}, good[1:]...), ErrUnknownVersion},
		"empty":          {nil, ErrBadCommand},
		"one byte":       {[]byte{cmdVersion1}, ErrBadCommand},
		"unknown opcode": {[]byte{cmdVersion1, 200, '{', '}'}, ErrBadCommand},
		"bad json":       {[]byte{cmdVersion1, byte(OpCreateBucket), '{'}, ErrBadCommand},
		"bad bucket":     {mustEncode(t, OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "Bad_Name"}}), ErrInvalid},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			before := dumpState(t, tf.f)
			if _, err := tf.applyRaw(tc.data); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			after := dumpState(t, tf.f)
			// Only the applied index may move.
			delete(before, "m/applied")
			delete(after, "m/applied")
			if fmt.Sprint(before) != fmt.Sprint(after) {
				t.Fatalf("state changed:\nbefore %v\nafter  %v", before, after)
			}
		})
	}
}

func mustEncode(t *testing.T, o Op, p any) []byte {
	b, err := EncodeCommand(o, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dumpState reads every key and value of the state.
func dumpState(t testing.TB, f *FSM) map[string]string {
	out := map[string]string{}
	if err := scan(f, nil, func(k, v []byte) error {
		out[string(k)] = string(v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReplayIsIdempotent(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	tf.mustApply(OpAllocChunks, AllocChunks{Count: 10})
	before := dumpState(t, tf.f)
	// Raft replays entries after the last snapshot on restart; entries at or
	// below the stored index must not apply twice.
	data, _ := EncodeCommand(OpAllocChunks, AllocChunks{Count: 10})
	out := tf.f.ApplyBatch([]*raft.Log{{Index: 2, Type: raft.LogCommand, Data: data}})
	if out[0] != nil {
		t.Fatalf("replayed entry returned %v", out[0])
	}
	if after := dumpState(t, tf.f); fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatal("replaying an applied entry changed the state")
	}
}

// TestRestartReplayLeavesStateAlone replays a whole log, in batches as Raft
// feeds it after a restart, onto a state that already holds all of it. A
// batch made only of entries at or below the stored index must not lower
// that index: if it did, the next batch would run old commands again on
// newer state, where they can come out differently (a chunked put refused
// because its chunk was freed since, the chunk high-water mark moved), and
// the member would silently diverge from the others.
func TestRestartReplayLeavesStateAlone(t *testing.T) {
	tf := newTestFSM(t)
	var logs []*raft.Log
	record := func(o Op, payload any) any {
		t.Helper()
		data, err := EncodeCommand(o, payload)
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, &raft.Log{Index: tf.index + 1, Type: raft.LogCommand, Data: data})
		v, err := tf.applyRaw(data)
		if err != nil {
			t.Fatalf("%v: %v", o, err)
		}
		return v
	}
	record(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	first := record(OpAllocChunks, AllocChunks{Count: 8}).(proto.ChunkID)
	put := func(key string, chunk proto.ChunkID) {
		record(OpPutObject, PutObject{Object: proto.Object{Bucket: "bk1", Key: key, Size: 1,
			Extents: []proto.Extent{{Chunk: chunk, Length: 1}}}})
	}
	put("a", first)   // a -> chunk 1
	put("a", first+1) // chunk 1 freed
	put("b", first+2)
	record(OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "b"})
	record(OpAckGCDeletion, AckGCDeletion{Chunks: []proto.ChunkID{first, first + 2}})
	record(OpAllocChunks, AllocChunks{Count: 8})
	before := dumpState(t, tf.f)
	applied := tf.f.applied.Load()

	for _, size := range []int{1, 2, 3, len(logs)} {
		for i := 0; i < len(logs); i += size {
			out := tf.f.ApplyBatch(logs[i:min(i+size, len(logs))])
			for j, r := range out {
				if r != nil {
					t.Fatalf("batch size %d: replayed entry %d returned %v", size, logs[i+j].Index, r)
				}
			}
			if got := tf.f.applied.Load(); got != applied {
				t.Fatalf("batch size %d: replaying up to %d moved the applied index from %d to %d",
					size, logs[min(i+size, len(logs))-1].Index, applied, got)
			}
		}
		if after := dumpState(t, tf.f); fmt.Sprint(before) != fmt.Sprint(after) {
			t.Fatalf("batch size %d: replaying the log changed the state:\nbefore %v\nafter  %v", size, before, after)
		}
	}
	// The index is durable too: a reopened state must not replay either.
	if got, err := readApplied(tf.f.db); err != nil || got != applied {
		t.Fatalf("stored applied index %d (%v), want %d", got, err, applied)
	}
}

func TestObjectRulesAndChunkReferences(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	first := tf.mustApply(OpAllocChunks, AllocChunks{Count: 4}).(proto.ChunkID)
	obj := proto.Object{Bucket: "bk1", Key: "big", Size: 30, Extents: []proto.Extent{
		{Chunk: first, Offset: 0, Length: 10}, {Chunk: first + 1, Offset: 10, Length: 20},
	}}
	tf.mustApply(OpPutObject, PutObject{Object: obj})
	bad := []struct {
		name string
		obj  proto.Object
		want error
	}{
		{"chunk used by another object", proto.Object{Bucket: "bk1", Key: "x", Size: 1, Extents: []proto.Extent{{Chunk: first, Length: 1}}}, ErrInvalid},
		{"never allocated", proto.Object{Bucket: "bk1", Key: "x", Size: 1, Extents: []proto.Extent{{Chunk: first + 100, Length: 1}}}, ErrInvalid},
		{"gap in extents", proto.Object{Bucket: "bk1", Key: "x", Size: 3, Extents: []proto.Extent{{Chunk: first + 2, Offset: 1, Length: 2}}}, ErrInvalid},
		{"size mismatch", proto.Object{Bucket: "bk1", Key: "x", Size: 5, Inline: []byte("abc")}, ErrInvalid},
		{"no bucket", proto.Object{Bucket: "nope", Key: "x"}, ErrNoSuchBucket},
		{"empty key", proto.Object{Bucket: "bk1", Key: ""}, ErrInvalid},
		{"long key", proto.Object{Bucket: "bk1", Key: strings.Repeat("k", 1025)}, ErrInvalid},
		{"huge metadata", proto.Object{Bucket: "bk1", Key: "x", Meta: map[string]string{"a": strings.Repeat("v", 3000)}}, ErrTooLarge},
		{"huge inline", proto.Object{Bucket: "bk1", Key: "x", Size: proto.MaxInlineBytes + 1, Inline: make([]byte, proto.MaxInlineBytes+1)}, ErrTooLarge},
	}
	for _, tc := range bad {
		before := dumpState(t, tf.f)
		if _, err := tf.apply(OpPutObject, PutObject{Object: tc.obj}); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
		after := dumpState(t, tf.f)
		delete(before, "m/applied")
		delete(after, "m/applied")
		if fmt.Sprint(before) != fmt.Sprint(after) {
			t.Errorf("%s: refused commit changed the state", tc.name)
		}
	}
	// JSON would silently turn invalid UTF-8 into U+FFFD, so keys are
	// validated before a command is encoded (handlers call validate.Object).
	if err := validate.Object(&proto.Object{Bucket: "bk1", Key: "a\xffb"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid UTF-8 key: %v", err)
	}
	// Overwriting frees the old chunks; re-committing the same chunks (a
	// retried commit) is allowed.
	tf.mustApply(OpPutObject, PutObject{Object: obj})
	obj2 := proto.Object{Bucket: "bk1", Key: "big", Size: 1, Extents: []proto.Extent{{Chunk: first + 2, Length: 1}}}
	tf.mustApply(OpPutObject, PutObject{Object: obj2})
	chunks, pending, _ := tf.f.Counters()
	if chunks != 1 || pending != 2 {
		t.Fatalf("after overwrite: %d referenced, %d pending deletes; want 1 and 2", chunks, pending)
	}
	if _, err := tf.apply(OpPutObject, PutObject{Object: proto.Object{Bucket: "bk1", Key: "y", Size: 10, Extents: obj.Extents[:1]}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("reusing a freed chunk: %v", err)
	}
	tf.mustApply(OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "big"})
	if chunks, pending, _ = tf.f.Counters(); chunks != 0 || pending != 3 {
		t.Fatalf("after delete: %d referenced, %d pending; want 0 and 3", chunks, pending)
	}
	// Conditional commits.
	v := tf.mustApply(OpPutObject, PutObject{Object: proto.Object{Bucket: "bk1", Key: "c"}, IfVersion: proto.MustNotExist}).(uint64)
	if _, err := tf.apply(OpPutObject, PutObject{Object: proto.Object{Bucket: "bk1", Key: "c"}, IfVersion: proto.MustNotExist}); !errors.Is(err, ErrPrecondition) {
		t.Fatalf("create-only over an existing key: %v", err)
	}
	if _, err := tf.apply(OpPutObject, PutObject{Object: proto.Object{Bucket: "bk1", Key: "c"}, IfVersion: v + 1}); !errors.Is(err, ErrPrecondition) {
		t.Fatalf("wrong version: %v", err)
	}
	tf.mustApply(OpPutObject, PutObject{Object: proto.Object{Bucket: "bk1", Key: "c"}, IfVersion: v})
}

func TestSnapshotRoundTripAndCorruptRestore(t *testing.T) {
	src := newTestFSM(t)
	src.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "snap"}})
	src.bulk("snap", []string{"a", "b/c", "d"})
	buf := bytes.NewBuffer(snapshotBytes(t, src.f))
	want := dumpState(t, src.f)

	dst := newTestFSM(t)
	dst.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "old"}})
	before := dumpState(t, dst.f)
	for _, cut := range []int{0, 10, buf.Len() / 2, buf.Len() - 1} {
		if err := dst.f.Restore(io.NopCloser(bytes.NewReader(buf.Bytes()[:cut]))); err == nil {
			t.Fatalf("restore of a snapshot cut at %d succeeded", cut)
		}
	}
	flipped := bytes.Clone(buf.Bytes())
	flipped[len(flipped)/2] ^= 1
	if err := dst.f.Restore(io.NopCloser(bytes.NewReader(flipped))); !errors.Is(err, ErrBadCommand) {
		t.Fatalf("restore of a corrupt snapshot: %v, want ErrBadCommand", err)
	}
	if got := dumpState(t, dst.f); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatal("failed restores changed the state")
	}
	if err := dst.f.Restore(io.NopCloser(bytes.NewReader(buf.Bytes()))); err != nil {
		t.Fatal(err)
	}
	if got := dumpState(t, dst.f); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("restored state differs:\n got %v\nwant %v", got, want)
	}
	if dst.f.applied.Load() != src.f.applied.Load() {
		t.Fatalf("restored applied index %d, want %d", dst.f.applied.Load(), src.f.applied.Load())
	}
}

func listAll(t *testing.T, f *FSM, req proto.ListRequest) (keys, prefixes []string) {
	t.Helper()
	for {
		res, err := f.List(req)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range res.Objects {
			keys = append(keys, o.Key)
		}
		prefixes = append(prefixes, res.CommonPrefixes...)
		if !res.IsTruncated {
			return keys, prefixes
		}
		if res.NextStartAfter == "" || res.NextStartAfter <= req.StartAfter {
			t.Fatalf("pagination does not advance: %q after %q", res.NextStartAfter, req.StartAfter)
		}
		req.StartAfter = res.NextStartAfter
	}
}

func TestListTrickyOrders(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1.x"}})
	keys := []string{"a", "a-c", "a/", "a/b", "a/b/c", "a/d", "a0", "a//b", "b", "é", "z/", "z/z"}
	tf.bulk("bk1", keys)
	tf.bulk("bk1.x", []string{"a/zzz"}) // a neighbouring bucket must not leak in
	sorted := slices.Clone(keys)
	slices.Sort(sorted) // byte order
	cases := []struct {
		prefix, delim string
		max           int
		keys, cps     []string
	}{
		{"", "", 1000, sorted, nil},
		{"", "", 1, sorted, nil},
		{"", "/", 1000, []string{"a", "a-c", "a0", "b", "é"}, []string{"a/", "z/"}},
		{"", "/", 2, []string{"a", "a-c", "a0", "b", "é"}, []string{"a/", "z/"}},
		{"a/", "/", 1000, []string{"a/", "a/b", "a/d"}, []string{"a//", "a/b/"}},
		{"a/b", "/", 1000, []string{"a/b"}, []string{"a/b/"}},
		{"a", "", 3, []string{"a", "a-c", "a/", "a//b", "a/b", "a/b/c", "a/d", "a0"}, nil},
		{"nothing", "/", 1000, nil, nil},
		{"", "a", 1000, []string{"b", "z/", "z/z", "é"}, []string{"a"}},
	}
	for _, tc := range cases {
		name := fmt.Sprintf("prefix=%q/delim=%q/max=%d", tc.prefix, tc.delim, tc.max)
		t.Run(name, func(t *testing.T) {
			k, cps := listAll(t, tf.f, proto.ListRequest{Bucket: "bk1", Prefix: tc.prefix, Delimiter: tc.delim, MaxKeys: tc.max})
			if !slices.Equal(k, tc.keys) || !slices.Equal(cps, tc.cps) {
				t.Fatalf("got keys %q prefixes %q\nwant keys %q prefixes %q", k, cps, tc.keys, tc.cps)
			}
		})
	}
	// start-after inside a common prefix skips that group.
	res, err := tf.f.List(proto.ListRequest{Bucket: "bk1", Delimiter: "/", StartAfter: "a/b"})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(res.CommonPrefixes, "a/") || len(res.Objects) == 0 || res.Objects[0].Key != "a0" {
		t.Fatalf("start-after a/b: %+v", res)
	}
}

func TestListWorkIsProportionalToThePage(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "big"}})
	var keys []string
	for d := range 200 {
		for f := range 100 {
			keys = append(keys, fmt.Sprintf("dir%03d/file%03d", d, f))
		}
	}
	tf.bulk("big", keys)
	res, err := tf.f.List(proto.ListRequest{Bucket: "big", Delimiter: "/", MaxKeys: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.CommonPrefixes) != 100 || !res.IsTruncated {
		t.Fatalf("got %d prefixes, truncated=%v", len(res.CommonPrefixes), res.IsTruncated)
	}
	// 20,000 keys sit under those prefixes; one seek per group is the bar.
	if res.Examined > 2*100+2 {
		t.Fatalf("examined %d index entries for a page of 100 groups", res.Examined)
	}
	res, err = tf.f.List(proto.ListRequest{Bucket: "big", Prefix: "dir150/", MaxKeys: 10})
	if err != nil || len(res.Objects) != 10 || res.Examined > 12 {
		t.Fatalf("prefix page: %d objects, examined %d, err %v", len(res.Objects), res.Examined, err)
	}
}

// BenchmarkListPageMillionKeys measures one 1000-entry page, with and
// without a delimiter, from a bucket of 1,000,000 keys.
func BenchmarkListPageMillionKeys(b *testing.B) {
	tf := newTestFSM(b)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "million"}})
	start := time.Now()
	keys := make([]string, 0, 1_000_000)
	for d := range 1000 {
		for f := range 1000 {
			keys = append(keys, fmt.Sprintf("d%04d/f%04d", d, f))
		}
	}
	tf.bulk("million", keys)
	b.Logf("loaded 1,000,000 keys in %v", time.Since(start))
	for _, delim := range []string{"", "/"} {
		b.Run("delimiter="+delim, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				after := fmt.Sprintf("d%04d", i%900)
				if delim != "" {
					after = "" // 1000 groups of 1000 keys: the page is every group
				}
				res, err := tf.f.List(proto.ListRequest{Bucket: "million", Delimiter: delim, StartAfter: after})
				if err != nil || len(res.Objects)+len(res.CommonPrefixes) != 1000 {
					b.Fatalf("page: %v %d", err, len(res.Objects)+len(res.CommonPrefixes))
				}
			}
		})
	}
}

func TestCollectedChunksNeverBecomeCommittable(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	first := tf.mustApply(OpAllocChunks, AllocChunks{Count: 2}).(proto.ChunkID)
	obj := proto.Object{Bucket: "bk1", Key: "late", Size: 1, Extents: []proto.Extent{{Chunk: first, Length: 1}}}
	// The writer was too slow: its chunk is collected and deleted everywhere.
	tf.mustApply(OpCollectOrphans, CollectOrphans{Chunks: []proto.ChunkID{first}})
	tf.mustApply(OpAckGCDeletion, AckGCDeletion{Chunks: []proto.ChunkID{first}})
	if _, err := tf.apply(OpPutObject, PutObject{Object: obj}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("commit naming a collected chunk: %v, want a refusal", err)
	}
	if _, pending, _ := tf.f.Counters(); pending != 0 {
		t.Fatalf("pending deletes %d after the acknowledgement", pending)
	}
	if gc, _ := tf.f.GCChunks(); len(gc) != 0 {
		t.Fatalf("tombstone listed as pending: %v", gc)
	}
	// A chunk committed first is never collected.
	obj.Extents[0].Chunk = first + 1
	tf.mustApply(OpPutObject, PutObject{Object: obj})
	if n := tf.mustApply(OpCollectOrphans, CollectOrphans{Chunks: []proto.ChunkID{first + 1}}).(int64); n != 0 {
		t.Fatal("a referenced chunk was collected")
	}
}

func TestMultipartStitchesWithoutCopying(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	first := tf.mustApply(OpAllocChunks, AllocChunks{Count: 4}).(proto.ChunkID)
	tf.mustApply(OpCreateUpload, CreateUpload{Upload: proto.Upload{ID: "up1", Bucket: "bk1", Key: "big"}})
	part := func(n int, chunk proto.ChunkID, size int64, etag string) {
		tf.mustApply(OpPutPart, PutPart{Bucket: "bk1", UploadID: "up1", Part: proto.Part{
			Number: n, ETag: etag, Size: size, Extents: []proto.Extent{{Chunk: chunk, Length: size}}}})
	}
	part(1, first, proto.MinPartSize, "aa")
	part(2, first+1, 10, "bb")
	part(3, first+2, 10, "cc") // uploaded, never completed: freed
	part(2, first+3, 7, "dd")  // part 2 again: the first version is freed
	if _, pending, _ := tf.f.Counters(); pending != 1 {
		t.Fatalf("replacing a part: %d pending deletes, want 1", pending)
	}
	obj := tf.mustApply(OpCompleteUpload, CompleteUpload{Req: proto.CompleteRequest{Bucket: "bk1", UploadID: "up1",
		Parts: []proto.CompletePart{{Number: 1, ETag: "aa"}, {Number: 2, ETag: `"dd"`}}}}).(proto.Object)
	if obj.Size != proto.MinPartSize+7 || len(obj.Extents) != 2 || obj.Extents[1].Offset != proto.MinPartSize || !strings.HasSuffix(obj.ETag, "-2") {
		t.Fatalf("stitched object %+v", obj)
	}
	chunks, pending, _ := tf.f.Counters()
	if chunks != 2 || pending != 2 {
		t.Fatalf("after completion: %d referenced, %d pending; want 2 and 2", chunks, pending)
	}
	refs, _ := tf.f.ChunkRefs()
	if _, ok := refs[first]; !ok {
		t.Fatal("the object's chunk is not referenced")
	}
	if _, err := tf.apply(OpCompleteUpload, CompleteUpload{Req: proto.CompleteRequest{Bucket: "bk1", UploadID: "up1",
		Parts: []proto.CompletePart{{Number: 1, ETag: "aa"}}}}); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("second completion: %v", err)
	}
	// Abort frees everything an upload holds.
	tf.mustApply(OpCreateUpload, CreateUpload{Upload: proto.Upload{ID: "up2", Bucket: "bk1", Key: "x"}})
	next := tf.mustApply(OpAllocChunks, AllocChunks{Count: 1}).(proto.ChunkID)
	tf.mustApply(OpPutPart, PutPart{Bucket: "bk1", UploadID: "up2", Part: proto.Part{Number: 1, ETag: "ee", Size: 3,
		Extents: []proto.Extent{{Chunk: next, Length: 3}}}})
	if _, err := tf.apply(OpDeleteBucket, DeleteBucket{Name: "bk1"}); !errors.Is(err, ErrBucketNotEmpty) {
		t.Fatalf("delete bucket with an upload: %v", err)
	}
	tf.mustApply(OpAbortUpload, AbortUpload{Ref: proto.UploadRef{Bucket: "bk1", UploadID: "up2"}})
	if chunks, pending, _ := tf.f.Counters(); chunks != 2 || pending != 3 {
		t.Fatalf("after abort: %d referenced, %d pending; want 2 and 3", chunks, pending)
	}
}

func TestInlineBytesLiveApartAndNeverLeak(t *testing.T) {
	tf := newTestFSM(t)
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1"}})
	tf.mustApply(OpPutObject, PutObject{Object: proto.Object{Bucket: "bk1", Key: "a", Size: 5, Inline: []byte("hello")}})
	state := dumpState(t, tf.f)
	if state["d/bk1/a"] != "hello" || strings.Contains(state["o/bk1/a"], "aGVsbG8") {
		t.Fatalf("inline bytes not stored apart: %q / %q", state["d/bk1/a"], state["o/bk1/a"])
	}
	tf.mustApply(OpRenameObject, RenameObject{Bucket: "bk1", From: "a", To: "b"})
	if o, err := tf.f.Object("bk1", "b"); err != nil || string(o.Inline) != "hello" {
		t.Fatalf("renamed inline object: %+v %v", o, err)
	}
	first := tf.mustApply(OpAllocChunks, AllocChunks{Count: 1}).(proto.ChunkID)
	tf.mustApply(OpPutObject, PutObject{Object: proto.Object{Bucket: "bk1", Key: "b", Size: 3, Extents: []proto.Extent{{Chunk: first, Length: 3}}}})
	tf.mustApply(OpPutObject, PutObject{Object: proto.Object{Bucket: "bk1", Key: "c", Size: 2, Inline: []byte("hi")}})
	tf.mustApply(OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "c"})
	for k := range dumpState(t, tf.f) {
		if strings.HasPrefix(k, "d/") {
			t.Errorf("leaked inline bytes under %q", k)
		}
	}
}
