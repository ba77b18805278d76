package listing

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

// memIter is an Iterator over sorted keys (a Badger iterator restricted
// to prefix, as master/meta opens them). It counts seeks and steps.
type memIter struct {
	keys  [][]byte
	objs  map[string]proto.Object
	i     int
	moves int
}

func newIter(prefix []byte, objs map[string]proto.Object) *memIter {
	it := &memIter{objs: objs}
	for k := range objs {
		if bytes.HasPrefix([]byte(k), prefix) {
			it.keys = append(it.keys, []byte(k))
		}
	}
	slices.SortFunc(it.keys, bytes.Compare)
	return it
}

func (m *memIter) Seek(key []byte) {
	m.moves++
	m.i, _ = slices.BinarySearchFunc(m.keys, key, bytes.Compare)
}
func (m *memIter) Valid() bool { return m.i < len(m.keys) }
func (m *memIter) Next()       { m.moves++; m.i++ }
func (m *memIter) Key() []byte { return m.keys[m.i] }
func (m *memIter) Object() (proto.Object, error) {
	o, ok := m.objs[string(m.keys[m.i])]
	if !ok {
		return o, errors.New("no record")
	}
	return o, nil
}

func objects(keys ...string) map[string]proto.Object {
	m := map[string]proto.Object{}
	for _, k := range keys {
		m["o/bk/"+k] = proto.Object{Bucket: "bk", Key: k, Inline: []byte("data")}
	}
	return m
}

// TestObjectsPages lists a bucket with a delimiter in pages of two: common
// prefixes roll up, markers resume, and a large group costs one seek.
func TestObjectsPages(t *testing.T) {
	var keys []string
	for i := range 1000 {
		keys = append(keys, "logs/"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+string(rune('0'+i/100)))
	}
	keys = append(keys, "a", "b/c", "z")
	objs := objects(keys...)
	base := []byte("o/bk/")
	req := proto.ListRequest{Bucket: "bk", Delimiter: "/", MaxKeys: 2}
	var got []string
	for page := 0; ; page++ {
		it := newIter(base, objs)
		var res proto.ListResult
		if err := Objects(it, base, req, req.MaxKeys, &res); err != nil {
			t.Fatal(err)
		}
		if it.moves > 6 {
			t.Errorf("page %d: %d iterator moves for 2 entries", page, it.moves)
		}
		for _, o := range res.Objects {
			if o.Inline != nil {
				t.Errorf("%s: listed with its data", o.Key)
			}
			got = append(got, o.Key)
		}
		got = append(got, res.CommonPrefixes...)
		if !res.IsTruncated {
			break
		}
		req.StartAfter = res.NextStartAfter
	}
	slices.Sort(got) // each page lists its objects, then its prefixes
	if want := []string{"a", "b/", "logs/", "z"}; !slices.Equal(got, want) {
		t.Errorf("listed %q, want %q", got, want)
	}
}

// TestVersionsNewestFirst lists a key's current version, then its
// noncurrent ones in index order (newest first), resuming at markers.
func TestVersionsNewestFirst(t *testing.T) {
	objs := map[string]proto.Object{
		"o/bk/k": {Key: "k", VersionID: "v3"},
		"o/bk/m": {Key: "m", VersionID: "w1"},
	}
	vkey := func(key string, n uint64, id string) {
		k := binary.BigEndian.AppendUint64([]byte("v/bk/"+key+"\x00"), ^n)
		objs[string(k)] = proto.Object{Key: key, VersionID: id}
	}
	vkey("k", 2, "v2")
	vkey("k", 1, "v1")
	vkey("l", 1, "u1") // a key with no current version (deleted)
	obase, vbase := []byte("o/bk/"), []byte("v/bk/")
	req := proto.VersionsRequest{Bucket: "bk", MaxKeys: 2}
	var got []string
	for {
		var res proto.VersionsResult
		if err := Versions(newIter(obase, objs), newIter(vbase, objs), obase, vbase, req, req.MaxKeys, &res); err != nil {
			t.Fatal(err)
		}
		for _, v := range res.Versions {
			got = append(got, v.Key+"@"+v.VersionID+map[bool]string{true: "*"}[v.IsLatest])
		}
		if !res.IsTruncated {
			break
		}
		req.KeyMarker, req.VersionIDMarker = res.NextKeyMarker, res.NextVersionIDMarker
	}
	if want := []string{"k@v3*", "k@v2", "k@v1", "l@u1*", "m@w1*"}; !slices.Equal(got, want) {
		t.Errorf("listed %q, want %q", got, want)
	}
}

func TestPrefixEnd(t *testing.T) {
	for p, want := range map[string]string{"a/": "a0", "a\xff": "b", "\xff\xff": "", "": ""} {
		if got := PrefixEnd(p); got != want {
			t.Errorf("PrefixEnd(%q) = %q, want %q", p, got, want)
		}
	}
}
