package meta

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// goldenConfLog covers the opcodes added after the first golden log
// (object tags, bucket configuration) in both versions. It applies on top
// of the state goldenLog leaves, and its files are its own, so the older
// golden files stay as they were written.
func goldenConfLog() []goldenEntry {
	tags := map[string]string{"team": "storage", "env": "prod"}
	none := map[string]string{}
	age := 3000
	cors := []proto.CORSRule{{ID: "web", AllowedOrigins: []string{"https://*.example.com"},
		AllowedMethods: []string{"GET", "PUT"}, AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"},
		MaxAgeSeconds: &age}}
	noCORS := []proto.CORSRule{}
	return []goldenEntry{
		v1(OpPutObjectTags, PutObjectTags{Bucket: "bk1", Key: "small", Tagging: "a=1&b=two+words"}),
		v2(201, OpPutObjectTags, PutObjectTags{Bucket: "bk1", Key: "big", Tagging: "k=v"}),
		v2(201, OpPutObjectTags, PutObjectTags{Bucket: "bk1", Key: "big", Tagging: "k=v"}),       // replayed
		v1(OpPutObjectTags, PutObjectTags{Bucket: "bk1", Key: "big"}),                            // removed
		v1(OpPutObjectTags, PutObjectTags{Bucket: "bk1", Key: "missing", Tagging: "k=v"}),        // refused
		v2(202, OpPutObjectTags, PutObjectTags{Bucket: "bk1", Key: "small", Tagging: "b=1&a=2"}), // refused: not canonical
		v1(OpPutBucketConf, PutBucketConf{Bucket: "bk1", Tags: &tags}),
		v2(203, OpPutBucketConf, PutBucketConf{Bucket: "bk1", CORS: &cors}),
		v1(OpPutBucketConf, PutBucketConf{Bucket: "bk1", Tags: &none}),
		v2(204, OpPutBucketConf, PutBucketConf{Bucket: "bk1", Tags: &tags, CORS: &noCORS}),
		v2(205, OpPutBucketConf, PutBucketConf{Bucket: "bk2", Tags: &tags}), // refused: deleted bucket
		v1(OpPutBucketConf, PutBucketConf{Bucket: "bk1", CORS: &cors}),
	}
}

// TestGoldenConfEntries: the newer opcodes encode to the stored bytes in
// testdata/conf_log.golden, and the stored bytes, applied after the first
// golden log, give the stored results and testdata/conf_state.golden.
func TestGoldenConfEntries(t *testing.T) {
	checkGoldenSet(t, "conf", goldenLog(), goldenConfLog(), OpPutObjectTags, OpPutBucketConf)
}

// TestGoldenVersionEntries: the versioning opcode, and the commits and
// deletes of versioned buckets, in testdata/versions_log.golden, applied
// after the first two golden logs.
func TestGoldenVersionEntries(t *testing.T) {
	checkGoldenSet(t, "versions", append(goldenLog(), goldenConfLog()...), goldenVersionLog(), OpSetVersioning, OpSetVersioning)
}

// checkGoldenSet writes or checks testdata/<name>_log.golden and
// <name>_state.golden: entries applied on the state base leaves, with
// opcodes first to last in both versions.
func checkGoldenSet(t *testing.T, name string, base, entries []goldenEntry, first, last Op) {
	start := func() *testFSM {
		tf := newTestFSM(t)
		for _, e := range base {
			tf.applyRaw(encodeGolden(t, e))
		}
		return tf
	}
	tf := start()
	var b bytes.Buffer
	seen := map[[2]int]bool{}
	for i, e := range entries {
		data := encodeGolden(t, e)
		seen[[2]int{int(data[0]), int(e.o)}] = true
		h, body, err := decodeHeader(data)
		if err != nil || h.op != e.o || h.id != e.id {
			t.Fatalf("entry %d: decode %+v %v", i, h, err)
		}
		fmt.Fprintf(&b, "entry %d v%d %v\n", i+1, data[0], e.o)
		if h.id != "" {
			fmt.Fprintf(&b, "header at=%d id=%s\n", h.at, h.id)
		}
		fmt.Fprintf(&b, "payload %s\nhex %x\nresult %s\n\n", body, data, describeResult(tf.applyRaw(data)))
	}
	for o := first; o <= last; o++ {
		for _, v := range []byte{cmdVersion1, cmdVersion2} {
			if !seen[[2]int{int(v), int(o)}] {
				t.Errorf("the %s golden log has no version-%d %v entry", name, v, o)
			}
		}
	}
	logName, stateName := name+"_log.golden", name+"_state.golden"
	checkGolden(t, logName, b.Bytes())
	checkGolden(t, stateName, stateText(t, tf.f))
	if *update {
		return
	}
	old := start()
	var results, want []string
	sc := bufio.NewScanner(bytes.NewReader(readGolden(t, logName)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if r, ok := strings.CutPrefix(sc.Text(), "result "); ok {
			want = append(want, r)
		}
		line, ok := strings.CutPrefix(sc.Text(), "hex ")
		if !ok {
			continue
		}
		data, err := hex.DecodeString(line)
		if err != nil {
			t.Fatalf("%s: %v", logName, err)
		}
		results = append(results, describeResult(old.applyRaw(data)))
	}
	if !slices.Equal(results, want) {
		t.Errorf("stored entries applied differently:\n got %q\nwant %q", results, want)
	}
	if got := stateText(t, old.f); !bytes.Equal(got, readGolden(t, stateName)) {
		t.Errorf("stored entries left another state:\n%s", got)
	}
}

// goldenVersionLog turns versioning on in bk1, writes and deletes there
// (versions, a delete marker, removal by version id), suspends it, and
// writes and deletes null versions.
func goldenVersionLog() []goldenEntry {
	at := goldenAt
	return []goldenEntry{
		v1(OpSetVersioning, SetVersioning{Bucket: "bk1", Status: "Enabled"}),
		v2(301, OpSetVersioning, SetVersioning{Bucket: "bk1", Status: "Off"}),      // refused
		v1(OpPutObject, PutObject{Object: goldenInline("bk1", "small", "second")}), // the unversioned one stays, as null
		v2(302, OpPutObject, PutObject{Object: goldenInline("bk1", "small", "third")}),
		v2(303, OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "small", At: &at}), // a delete marker
		v1(OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "small", VersionID: "null"}),
		v2(304, OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "nothing", At: &at}), // a marker for a missing key
		v2(305, OpSetVersioning, SetVersioning{Bucket: "bk1", Status: "Suspended"}),
		v1(OpPutObject, PutObject{Object: goldenInline("bk1", "small", "null again")}),
		v1(OpPutObject, PutObject{Object: goldenInline("bk1", "small", "null replaced")}),
		v2(306, OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "small", At: &at}),                  // a null delete marker
		v1(OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "small", VersionID: "zz"}),               // refused
		v1(OpDeleteObject, DeleteObject{Bucket: "bk1", Key: "small", VersionID: "00000000000000ff"}), // none such
		v1(OpRenameObject, RenameObject{Bucket: "bk1", From: "big", To: "big2", Modified: goldenAt}), // refused
		v1(OpDeleteBucket, DeleteBucket{Name: "bk1"}),                                                // refused: versions
	}
}

// TestGoldenLockEntries: object lock (a bucket created with it, its
// default retention, retention and legal hold changes, removals a lock
// refuses) in testdata/lock_log.golden, after the first three logs.
func TestGoldenLockEntries(t *testing.T) {
	base := append(append(goldenLog(), goldenConfLog()...), goldenVersionLog()...)
	checkGoldenSet(t, "lock", base, goldenLockLog(len(base)), OpSetLock, OpSetLock)
}

// goldenLockLog follows n entries: the version id of its put is the Raft
// index that made it.
func goldenLockLog(n int) []goldenEntry {
	later := goldenAt.AddDate(1, 0, 0).Format(time.RFC3339)
	sooner := goldenAt.AddDate(0, 1, 0).Format(time.RFC3339)
	rule := &proto.LockRule{Mode: proto.LockGovernance, Days: 30}
	put := goldenInline("bk5", "kept", "locked bytes")
	vid := proto.VersionIDFor(uint64(n + 3))
	return []goldenEntry{
		v1(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk5", Created: goldenAt, ObjectLock: true, Versioning: proto.VersioningEnabled}}),
		v2(401, OpPutBucketConf, PutBucketConf{Bucket: "bk5", Lock: &proto.LockConfig{Rule: rule}}),
		v1(OpPutObject, PutObject{Object: put}), // retained 30 days by the rule
		v1(OpSetLock, SetLock{Req: proto.LockRequest{Bucket: "bk5", Key: "kept", LegalHold: proto.LegalHoldOn}, At: goldenAt}),
		v2(402, OpSetLock, SetLock{Req: proto.LockRequest{Bucket: "bk5", Key: "kept", VersionID: vid,
			Retain: &proto.Retention{Mode: proto.LockCompliance, Until: later}}, At: goldenAt}),
		v2(403, OpSetLock, SetLock{Req: proto.LockRequest{Bucket: "bk5", Key: "kept",
			Retain: &proto.Retention{Mode: proto.LockCompliance, Until: sooner}, Bypass: true}, At: goldenAt}), // refused: compliance
		v1(OpDeleteObject, DeleteObject{Bucket: "bk5", Key: "kept", VersionID: vid, At: &goldenAt, BypassGovernance: true}),   // refused
		v1(OpSetVersioning, SetVersioning{Bucket: "bk5", Status: proto.VersioningSuspended}),                                  // refused
		v1(OpSetLock, SetLock{Req: proto.LockRequest{Bucket: "bk1", Key: "big", LegalHold: proto.LegalHoldOn}, At: goldenAt}), // refused: no lock
	}
}
