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
