package proto

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// Records written before ObjectHeaders existed decode to the same values
// and encode to the same bytes; headers, when set, sit flat in the record.
func TestObjectHeadersKeepOldRecords(t *testing.T) {
	modified := time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC)
	golden := []struct {
		json string
		val  any
	}{
		{`{"bucket":"bk1","key":"k","size":3,"etag":"abc","contentType":"text/plain","meta":{"a":"b"},"modified":"2025-01-02T03:04:05.006Z","version":9,"extents":[{"chunk":1,"offset":0,"length":3}]}`,
			&Object{Bucket: "bk1", Key: "k", Size: 3, ETag: "abc", ContentType: "text/plain", Meta: map[string]string{"a": "b"},
				Modified: modified, Version: 9, Extents: []Extent{{Chunk: 1, Length: 3}}}},
		{`{"id":"u1","bucket":"bk1","key":"k","created":"2025-01-02T03:04:05.006Z","contentType":"text/plain"}`,
			&Upload{ID: "u1", Bucket: "bk1", Key: "k", Created: modified, ContentType: "text/plain"}},
		{`{"number":2,"etag":"aa","size":5,"modified":"2025-01-02T03:04:05.006Z"}`,
			&Part{Number: 2, ETag: "aa", Size: 5, Modified: modified}},
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
	o := Object{Bucket: "bk1", Key: "k", ObjectHeaders: ObjectHeaders{CacheControl: "no-cache", ChecksumAlgorithm: ChecksumCRC32C, Checksum: "AAAAAA=="}}
	enc, _ := json.Marshal(o)
	var flat map[string]any
	if err := json.Unmarshal(enc, &flat); err != nil || flat["cacheControl"] != "no-cache" || flat["checksumAlgorithm"] != "CRC32C" || flat["checksum"] != "AAAAAA==" {
		t.Fatalf("headers not flat in the record: %s", enc)
	}
	var back Object
	if err := json.Unmarshal(enc, &back); err != nil || back.ObjectHeaders != o.ObjectHeaders {
		t.Fatalf("round trip: %+v %v", back, err)
	}
}

// Object records written before Parts existed (a multipart object's among
// them) decode without parts and encode to the same bytes; parts, when
// set, sit in the record as a list after the layout.
func TestObjectPartsKeepOldRecords(t *testing.T) {
	old := `{"bucket":"bk1","key":"big","size":5242887,"etag":"0123456789abcdef0123456789abcdef-2","modified":"2025-01-02T03:04:05.006Z","version":12,` +
		`"extents":[{"chunk":4,"offset":0,"length":5242880},{"chunk":5,"offset":5242880,"length":7}],"checksumAlgorithm":"CRC32","checksumType":"COMPOSITE","checksum":"AAAAAA==-2"}`
	var o Object
	if err := json.Unmarshal([]byte(old), &o); err != nil || o.Parts != nil || !o.Modified.Equal(time.Date(2025, 1, 2, 3, 4, 5, 6e6, time.UTC)) || o.Size != 5242887 || len(o.Extents) != 2 || o.Checksum != "AAAAAA==-2" {
		t.Fatalf("decode old record: %+v %v", o, err)
	}
	if enc, err := json.Marshal(o); err != nil || string(enc) != old {
		t.Fatalf("re-encode old record:\n got %s\nwant %s (%v)", enc, old, err)
	}

	o.Parts = []ObjectPart{{Number: 1, Size: 5242880, Checksum: "AAAAAQ=="}, {Number: 3, Size: 7}}
	want := `{"bucket":"bk1","key":"big","size":5242887,"etag":"0123456789abcdef0123456789abcdef-2","modified":"2025-01-02T03:04:05.006Z","version":12,` +
		`"extents":[{"chunk":4,"offset":0,"length":5242880},{"chunk":5,"offset":5242880,"length":7}],` +
		`"parts":[{"number":1,"size":5242880,"checksum":"AAAAAQ=="},{"number":3,"size":7}],` +
		`"checksumAlgorithm":"CRC32","checksumType":"COMPOSITE","checksum":"AAAAAA==-2"}`
	enc, err := json.Marshal(o)
	if err != nil || string(enc) != want {
		t.Fatalf("encode with parts:\n got %s\nwant %s (%v)", enc, want, err)
	}
	var back Object
	if err := json.Unmarshal(enc, &back); err != nil || !reflect.DeepEqual(back, o) {
		t.Fatalf("round trip with parts:\n got %+v\nwant %+v (%v)", back, o, err)
	}
}
