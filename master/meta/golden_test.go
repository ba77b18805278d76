package meta

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
)

// The golden tests below guard the master's formats: the bytes of every
// Raft log entry (both encoding versions, every opcode), the state those
// entries leave in Badger, the snapshot stream of that state, and the
// dedup outcome records. Each test fails when an encoding changes, and
// feeds the stored bytes back in (decode, apply, restore, replay), so what
// older members wrote keeps working. Rewrite them only on purpose:
//
//	go test ./master -run Golden -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenAt is the leader clock of the golden entries.
var goldenAt = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// goldenID is a request id issued 1 ms before goldenAt, numbered n.
func goldenID(n int) string {
	return fmt.Sprintf("%012x-%032x", goldenAt.Add(-time.Millisecond).UnixMilli(), n)
}

type goldenEntry struct {
	o       Op
	id      string // "" for version 1
	payload any
}

func v1(o Op, p any) goldenEntry        { return goldenEntry{o: o, payload: p} }
func v2(n int, o Op, p any) goldenEntry { return goldenEntry{o: o, id: goldenID(n), payload: p} }
func goldenInline(b, k, d string) proto.Object {
	return proto.Object{Bucket: b, Key: k, Size: int64(len(d)), ETag: "e-" + d, Modified: goldenAt, Inline: []byte(d)}
}
func goldenChunked(b, k string, chunk proto.ChunkID, size int64) proto.Object {
	return proto.Object{Bucket: b, Key: k, Size: size, ETag: "e-" + k, ContentType: "application/octet-stream",
		Meta: map[string]string{"color": "blue"}, Modified: goldenAt,
		Extents: []proto.Extent{{Chunk: chunk, Length: size}}}
}
func goldenPart(bucket, upload string, chunk proto.ChunkID) PutPart {
	return PutPart{Bucket: bucket, UploadID: upload, Part: proto.Part{Number: 1, ETag: "p-" + upload, Size: 3,
		Modified: goldenAt, Extents: []proto.Extent{{Chunk: chunk, Length: 3}}}}
}
func goldenComplete(upload string) CompleteUpload {
	return CompleteUpload{Req: proto.CompleteRequest{Bucket: "bk1", UploadID: upload,
		Parts: []proto.CompletePart{{Number: 1, ETag: "p-" + upload}}}, Object: proto.Object{Modified: goldenAt}}
}
func goldenUpload(id, key string) CreateUpload {
	return CreateUpload{Upload: proto.Upload{ID: id, Bucket: "bk1", Key: key, Created: goldenAt, ContentType: "text/plain"}}
}

// goldenLog is every opcode in both versions, in an order in which each
// one applies; what is left is a small state with one of everything
// (bucket, inline and chunked objects, an open upload with a part, chunk
// servers, members, users, keys, dedup records).
func goldenLog() []goldenEntry {
	size := int64(10)
	return []goldenEntry{
		v1(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1", Created: goldenAt, Owner: "alice", Replication: 3}}),
		v1(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk2", Created: goldenAt}}),
		v2(1, OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk3", Created: goldenAt, Location: "eu"}}),
		v2(2, OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1", Created: goldenAt}}), // refused, recorded
		v2(2, OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1", Created: goldenAt}}), // replayed
		v1(OpAllocChunks, AllocChunks{Count: 4}),
		v2(3, OpAllocChunks, AllocChunks{Count: 4}),
		v1(OpPutObject, PutObject{Object: goldenInline("bk1", "small", "hello")}),
		v2(4, OpPutObject, PutObject{Object: goldenChunked("bk1", "big", 1, 10), IfVersion: proto.MustNotExist}),
		v2(4, OpPutObject, PutObject{Object: goldenChunked("bk1", "big", 1, 10), IfVersion: proto.MustNotExist}), // replayed
		v1(OpPutObject, PutObject{Object: goldenChunked("bk2", "x", 2, 10)}),
		v1(OpPutObject, PutObject{Object: goldenInline("bk2", "y", "why")}),
		v1(OpRenameObject, RenameObject{Bucket: "bk2", From: "y", To: "y2", Modified: goldenAt}),
		v2(5, OpRenameObject, RenameObject{Bucket: "bk2", From: "y2", To: "y3", Modified: goldenAt}),
		v1(OpDeleteObject, DeleteObject{Bucket: "bk2", Key: "x", IfSize: &size}),
		v2(6, OpDeleteObject, DeleteObject{Bucket: "bk2", Key: "y3", IfETag: "e-why"}),
		v1(OpDeleteBucket, DeleteBucket{Name: "bk2"}),
		v2(7, OpDeleteBucket, DeleteBucket{Name: "bk3"}),
		v1(OpRegisterNode, RegisterNode{Node: Node{ID: "n1", Address: "127.0.0.1:7001", Rack: "r1", Registered: goldenAt}}),
		v2(8, OpRegisterNode, RegisterNode{Node: Node{ID: "n2", Address: "127.0.0.1:7002", Registered: goldenAt}}),
		v1(OpSetNodeState, SetNodeState{ID: "n2", State: NodeDraining}),
		v2(9, OpSetNodeState, SetNodeState{ID: "n1", State: NodeActive}),
		v1(OpSetMember, SetMember{Member: Member{ID: "m1", RaftAddr: "127.0.0.1:8001", HTTPAddr: "127.0.0.1:9001"}}),
		v2(10, OpSetMember, SetMember{Member: Member{ID: "m2", RaftAddr: "127.0.0.1:8002", HTTPAddr: "127.0.0.1:9002"}}),
		v1(OpRemoveMember, RemoveMember{ID: "m2"}),
		v2(11, OpRemoveMember, RemoveMember{ID: "m3"}),
		v1(OpPutUser, PutUser{User: proto.User{Name: "alice", Created: goldenAt}}),
		v2(12, OpPutUser, PutUser{User: proto.User{Name: "bob", Created: goldenAt}}),
		v1(OpPutKey, PutKey{Key: proto.AccessKey{AccessKey: "AK1", SecretKey: "secret-one", User: "alice", Created: goldenAt}}),
		v2(13, OpPutKey, PutKey{Key: proto.AccessKey{AccessKey: "AK2", SecretKey: "secret-two", User: "bob", Created: goldenAt}}),
		v1(OpPutKey, PutKey{Key: proto.AccessKey{AccessKey: "AK3", SecretKey: "secret-three", User: "bob", Created: goldenAt}}),
		v1(OpDeleteKey, DeleteKey{AccessKey: "AK2"}),
		v2(14, OpDeleteKey, DeleteKey{AccessKey: "AK3"}),
		v1(OpAckGCDeletion, AckGCDeletion{Chunks: []proto.ChunkID{2}}),
		v2(15, OpAckGCDeletion, AckGCDeletion{Chunks: []proto.ChunkID{2, 3}}),
		v1(OpCollectOrphans, CollectOrphans{Chunks: []proto.ChunkID{3}}),
		v2(16, OpCollectOrphans, CollectOrphans{Chunks: []proto.ChunkID{4, 1}}),
		v1(OpCreateUpload, goldenUpload("up1", "mp1")),
		v2(17, OpCreateUpload, goldenUpload("up2", "mp2")),
		v1(OpCreateUpload, goldenUpload("up3", "mp3")),
		v1(OpCreateUpload, goldenUpload("up4", "mp4")),
		v1(OpCreateUpload, goldenUpload("up5", "mp5")),
		v1(OpPutPart, goldenPart("bk1", "up1", 5)),
		v2(18, OpPutPart, goldenPart("bk1", "up2", 6)),
		v1(OpPutPart, goldenPart("bk1", "up3", 7)),
		v1(OpCompleteUpload, goldenComplete("up2")),
		v2(19, OpCompleteUpload, goldenComplete("up3")),
		v1(OpAbortUpload, AbortUpload{Ref: proto.UploadRef{Bucket: "bk1", UploadID: "up4"}}),
		v2(20, OpAbortUpload, AbortUpload{Ref: proto.UploadRef{Bucket: "bk1", UploadID: "up5"}}),
	}
}

// encodeGolden encodes an entry as the leader would.
func encodeGolden(t *testing.T, e goldenEntry) []byte {
	t.Helper()
	var data []byte
	var err error
	if e.id == "" {
		data, err = EncodeCommand(e.o, e.payload)
	} else {
		data, err = EncodeRequest(e.o, goldenAt, e.id, e.payload)
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// describeResult prints what applying an entry returned: the error's
// message, or the value as JSON (not its Go type, which may move).
func describeResult(val any, err error) string {
	if err != nil {
		return "err " + err.Error()
	}
	b, err := json.Marshal(val)
	if err != nil {
		return "unencodable " + err.Error()
	}
	return "ok " + string(b)
}

// checkGolden compares got with testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed: a stored format is different (run with -update only if that is intended)\n got: %s\nwant: %s",
			path, clip(got), clip(want))
	}
}

func clip(b []byte) string {
	if len(b) > 4000 {
		return fmt.Sprintf("%q… (%d bytes)", b[:4000], len(b))
	}
	return fmt.Sprintf("%q", b)
}

func readGolden(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stateText prints every key and value of the state, one per line.
func stateText(t testing.TB, f *FSM) []byte {
	t.Helper()
	st := dumpState(t, f)
	keys := make([]string, 0, len(st))
	for k := range st {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&b, "%q %q\n", k, st[k])
	}
	return b.Bytes()
}

// applyGoldenLog applies the entries in testdata/log.golden (the stored
// bytes, not this build's encoder) to a fresh state.
func applyGoldenLog(t *testing.T) (*testFSM, []string) {
	t.Helper()
	tf := newTestFSM(t)
	var results []string
	sc := bufio.NewScanner(bytes.NewReader(readGolden(t, "log.golden")))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "hex ")
		if !ok {
			continue
		}
		data, err := hex.DecodeString(line)
		if err != nil {
			t.Fatalf("log.golden: %v", err)
		}
		results = append(results, describeResult(tf.applyRaw(data)))
	}
	return tf, results
}

// TestGoldenLogEntries: every opcode in both versions encodes to the stored
// bytes, and the stored bytes decode and apply with the stored results,
// leaving the stored state.
func TestGoldenLogEntries(t *testing.T) {
	tf := newTestFSM(t)
	var b bytes.Buffer
	seen := map[[2]int]bool{}
	for i, e := range goldenLog() {
		data := encodeGolden(t, e)
		version := int(data[0])
		seen[[2]int{version, int(e.o)}] = true
		h, body, err := decodeHeader(data)
		if err != nil || h.op != e.o || h.id != e.id {
			t.Fatalf("entry %d: decode %+v %v", i, h, err)
		}
		fmt.Fprintf(&b, "entry %d v%d %v\n", i+1, version, e.o)
		if h.id != "" {
			fmt.Fprintf(&b, "header at=%d id=%s\n", h.at, h.id)
		}
		fmt.Fprintf(&b, "payload %s\n", body)
		fmt.Fprintf(&b, "hex %x\n", data)
		fmt.Fprintf(&b, "result %s\n\n", describeResult(tf.applyRaw(data)))
	}
	for o := OpCreateBucket; o <= OpAbortUpload; o++ {
		for _, v := range []byte{cmdVersion1, cmdVersion2} {
			if !seen[[2]int{int(v), int(o)}] {
				t.Errorf("the golden log has no version-%d %v entry", v, o)
			}
		}
	}
	// Opcodes after OpAbortUpload have their own golden logs (the older
	// ones are never rewritten): see golden_conf_test.go.
	if _, ok := handlers[lastOp+1]; ok {
		t.Errorf("opcode %d exists: add it to a golden log", lastOp+1)
	}
	checkGolden(t, "log.golden", b.Bytes())
	checkGolden(t, "state.golden", stateText(t, tf.f))
	if *update {
		return
	}

	// The stored entries, not this build's encoder, must give the stored
	// results and state.
	old, results := applyGoldenLog(t)
	var want []string
	for _, line := range strings.Split(string(readGolden(t, "log.golden")), "\n") {
		if r, ok := strings.CutPrefix(line, "result "); ok {
			want = append(want, r)
		}
	}
	if !slices.Equal(results, want) {
		t.Errorf("stored entries applied differently:\n got %q\nwant %q", results, want)
	}
	if got := stateText(t, old.f); !bytes.Equal(got, readGolden(t, "state.golden")) {
		t.Errorf("stored entries left another state:\n%s", got)
	}
}

// TestGoldenSnapshot: the snapshot stream of the golden state is byte for
// byte the stored one, and the stored stream restores to that state.
func TestGoldenSnapshot(t *testing.T) {
	tf := newTestFSM(t)
	for _, e := range goldenLog() {
		tf.applyRaw(encodeGolden(t, e))
	}
	checkGolden(t, "snapshot.golden", snapshotBytes(t, tf.f))
	if *update {
		return
	}
	fresh := newTestFSM(t)
	if err := fresh.f.Restore(nopCloser{bytes.NewReader(readGolden(t, "snapshot.golden"))}); err != nil {
		t.Fatalf("restore the stored snapshot: %v", err)
	}
	if got, want := stateText(t, fresh.f), readGolden(t, "state.golden"); !bytes.Equal(got, want) {
		t.Errorf("the stored snapshot restores to another state:\n got %s\nwant %s", got, want)
	}
	if got := fresh.f.applied.Load(); got != uint64(len(goldenLog())) {
		t.Errorf("restored applied index %d, want %d", got, len(goldenLog()))
	}
	for _, e := range goldenLog() {
		if e.o == OpPutObject && e.id == "" {
			o := e.payload.(PutObject).Object
			if o.Bucket != "bk1" {
				continue
			}
			if got, err := fresh.f.Object(o.Bucket, o.Key); err != nil || string(got.Inline) != string(o.Inline) {
				t.Errorf("restored object %s/%s: %+v %v", o.Bucket, o.Key, got, err)
			}
		}
	}
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// goldenOutcomes are requests whose stored outcomes cover each kind: a
// result of each decoded type, an Op whose result is not kept, and errors.
func goldenOutcomes() []goldenEntry {
	return []goldenEntry{
		v2(101, OpPutObject, PutObject{Object: goldenInline("bk1", "o1", "one")}),
		v2(102, OpRenameObject, RenameObject{Bucket: "bk1", From: "o1", To: "o2", Modified: goldenAt}),
		v2(103, OpCreateUpload, goldenUpload("upa", "mpa")),
		v2(104, OpPutPart, goldenPart("bk1", "upa", 1)),
		v2(105, OpCompleteUpload, goldenComplete("upa")),
		v2(106, OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "o2"}),
		v2(107, OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1", Created: goldenAt}}),
		v2(108, OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "missing"}),
		v2(109, OpPutObject, PutObject{Object: goldenInline("bk1", "mpa", "new"), IfETag: "e-other"}),
		v2(110, OpCompleteUpload, goldenComplete("nope")),
		v2(111, OpPutKey, PutKey{Key: proto.AccessKey{AccessKey: "AKX", SecretKey: "short", User: "nobody"}}),
	}
}

// TestGoldenDedupOutcomes: the outcome records a request leaves are the
// stored bytes, and stored records (put into a fresh state) answer a
// repeated request as the first one was answered.
func TestGoldenDedupOutcomes(t *testing.T) {
	setup := func() *testFSM {
		tf := newTestFSM(t)
		tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk1", Created: goldenAt}})
		tf.mustApply(OpAllocChunks, AllocChunks{Count: 1})
		return tf
	}
	tf := setup()
	var b bytes.Buffer
	for _, e := range goldenOutcomes() {
		first := describeResult(tf.applyRaw(encodeGolden(t, e)))
		var raw []byte
		if err := tf.f.view(func(txn *badger.Txn) error {
			item, err := txn.Get(outcomeKey(e.id))
			if err != nil {
				return err
			}
			raw, err = item.ValueCopy(nil)
			return err
		}); err != nil {
			t.Fatalf("outcome of %v: %v", e.o, err)
		}
		fmt.Fprintf(&b, "request %s %v\nrecord %q\nanswer %s\n\n", e.id, e.o, raw, first)
	}
	checkGolden(t, "dedup.golden", b.Bytes())
	if *update {
		return
	}

	// Stored records alone (nothing else of the first attempts) answer the
	// repeats: each repeat returns the recorded answer and changes nothing.
	fresh := setup()
	var ids, records, answers []string
	for _, line := range strings.Split(string(readGolden(t, "dedup.golden")), "\n") {
		switch {
		case strings.HasPrefix(line, "request "):
			ids = append(ids, strings.Fields(line)[1])
		case strings.HasPrefix(line, "record "):
			records = append(records, strings.TrimPrefix(line, "record "))
		case strings.HasPrefix(line, "answer "):
			answers = append(answers, strings.TrimPrefix(line, "answer "))
		}
	}
	outcomes := goldenOutcomes()
	if len(ids) != len(outcomes) || len(records) != len(ids) || len(answers) != len(ids) {
		t.Fatalf("dedup.golden has %d requests, %d records, %d answers; want %d", len(ids), len(records), len(answers), len(outcomes))
	}
	for i, id := range ids {
		var raw string
		if _, err := fmt.Sscanf(records[i], "%q", &raw); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if err := fresh.f.db.Update(func(txn *badger.Txn) error { return txn.Set(outcomeKey(id), []byte(raw)) }); err != nil {
			t.Fatal(err)
		}
	}
	before := stateText(t, fresh.f)
	for i, e := range outcomes {
		got := describeResult(fresh.applyRaw(encodeGolden(t, e)))
		if want := answers[i]; !sameAnswer(got, want) {
			t.Errorf("repeat of %v under a stored record:\n got %s\nwant %s", e.o, got, want)
		}
	}
	if after := stateText(t, fresh.f); !bytes.Equal(dropApplied(before), dropApplied(after)) {
		t.Errorf("repeats changed the state")
	}
}

// sameAnswer compares a replayed answer with the first one: a replayed
// error is the stored API error, which prefixes the message with its code.
func sameAnswer(replayed, first string) bool {
	if replayed == first {
		return true
	}
	msg, ok := strings.CutPrefix(first, "err ")
	if !ok {
		return false
	}
	code, rest, ok := strings.Cut(strings.TrimPrefix(replayed, "err "), ": ")
	return ok && code != "" && rest == msg
}

func dropApplied(state []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(state, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte(`"m/applied"`)) {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}
