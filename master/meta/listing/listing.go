// Package listing pages through the state's indexes in key order for
// the list operations: a bucket's current objects (Objects) and its
// object versions (Versions), with S3's prefix, delimiter and markers.
// Common prefixes are skipped with one seek each, so the work is
// proportional to the page, not to the keys under a prefix. It reads
// through Iterator, which master/meta implements over a Badger read
// transaction; it knows nothing of the key encoding beyond the prefixes
// it is given.
package listing

import (
	"bytes"
	"strings"

	"github.com/granary-store/granary/internal/proto"
)

// Iterator walks one index in key order (a Badger iterator restricted to
// the index's prefix, in master/meta). Its methods are Badger's, but Key
// and Object, which read the current entry: its key, and its value
// decoded as an object record.
type Iterator interface {
	Seek(key []byte)
	Valid() bool
	Next()
	Key() []byte
	Object() (proto.Object, error)
}

// Objects fills res with one page of at most max entries of the objects
// under base (the bucket's object index prefix) that match req; it
// positions it itself.
func Objects(it Iterator, base []byte, req proto.ListRequest, max int, res *proto.ListResult) error {
	l := lister{it: it, base: base, req: req, max: max, res: res}
	return l.run()
}

// Versions fills res with one page of at most max versions matching req:
// each key's current version (from cur, under obase) then its noncurrent
// ones (from non, under vbase: the key, then 9 bytes of version), newest
// first. It positions both iterators itself.
func Versions(cur, non Iterator, obase, vbase []byte, req proto.VersionsRequest, max int, res *proto.VersionsResult) error {
	l := versionLister{req: req, max: max, res: res, obase: obase, vbase: vbase, cur: cur, non: non}
	return l.run()
}

type lister struct {
	it   Iterator
	base []byte
	req  proto.ListRequest
	max  int
	res  *proto.ListResult
	last string // last key or common prefix emitted
}

func (l *lister) run() error {
	l.it.Seek(l.start())
	for ; l.it.Valid(); l.res.Examined++ {
		key := string(l.it.Key()[len(l.base):])
		if cp, ok := l.commonPrefix(key); ok {
			if cp > l.req.StartAfter { // a group the marker is inside was sent already
				if l.full() {
					return nil
				}
				l.res.CommonPrefixes = append(l.res.CommonPrefixes, cp)
				l.last = cp
			}
			end := PrefixEnd(cp)
			if end == "" {
				return nil // nothing sorts after this group
			}
			l.it.Seek(append(bytes.Clone(l.base), end...))
			continue
		}
		if l.full() {
			return nil
		}
		o, err := l.it.Object()
		if err != nil {
			return err
		}
		o.Inline = nil // listings carry no data
		o.Parts = nil  // nor part lists, up to MaxPartNumber entries each
		l.res.Objects = append(l.res.Objects, o)
		l.last = key
		l.it.Next()
	}
	return nil
}

// full marks the page truncated when it already holds max entries (the
// caller has found one more).
func (l *lister) full() bool {
	if len(l.res.Objects)+len(l.res.CommonPrefixes) < l.max {
		return false
	}
	l.res.IsTruncated = true
	l.res.NextStartAfter = l.last
	return true
}

// start is the first index key at or after prefix and after StartAfter.
func (l *lister) start() []byte {
	from := l.req.Prefix
	if l.req.StartAfter != "" && l.req.StartAfter+"\x00" > from {
		from = l.req.StartAfter + "\x00"
	}
	return append(bytes.Clone(l.base), from...)
}

func (l *lister) commonPrefix(key string) (string, bool) {
	if l.req.Delimiter == "" {
		return "", false
	}
	rest := key[len(l.req.Prefix):]
	i := strings.Index(rest, l.req.Delimiter)
	if i < 0 {
		return "", false
	}
	return key[:len(l.req.Prefix)+i+len(l.req.Delimiter)], true
}

// PrefixEnd returns the smallest string greater than every string that
// starts with p ("" when there is none).
func PrefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}

type versionLister struct {
	req          proto.VersionsRequest
	max          int
	res          *proto.VersionsResult
	obase, vbase []byte
	cur, non     Iterator
	lastKey      string
	lastVersion  string // "" when the last entry was a common prefix
}

func (l *versionLister) seek(from string) {
	l.cur.Seek(append(bytes.Clone(l.obase), from...))
	l.non.Seek(append(bytes.Clone(l.vbase), from...))
}

func (l *versionLister) curKey() (string, bool) {
	if !l.cur.Valid() {
		return "", false
	}
	return string(l.cur.Key()[len(l.obase):]), true
}

func (l *versionLister) nonKey() (string, bool) {
	if !l.non.Valid() {
		return "", false
	}
	k := l.non.Key()
	if len(k) < len(l.vbase)+9 {
		return "", false
	}
	return string(k[len(l.vbase) : len(k)-9]), true
}

func (l *versionLister) run() error {
	from := l.req.Prefix
	if l.req.KeyMarker > from {
		from = l.req.KeyMarker
	}
	l.seek(from)
	for {
		ck, cok := l.curKey()
		nk, nok := l.nonKey()
		if !cok && !nok {
			return nil
		}
		key := ck
		if !cok || nok && nk < ck {
			key = nk
		}
		if cp, ok := commonPrefixOf(l.req.Prefix, l.req.Delimiter, key); ok {
			if cp > l.req.KeyMarker {
				if l.full() {
					return nil
				}
				l.res.CommonPrefixes = append(l.res.CommonPrefixes, cp)
				l.lastKey, l.lastVersion = cp, ""
			}
			end := PrefixEnd(cp)
			if end == "" {
				return nil
			}
			l.seek(end)
			continue
		}
		done, err := l.key(key, cok && ck == key)
		if err != nil || done {
			return err
		}
	}
}

// key emits the versions of one key, after the markers; done means the
// page is full.
func (l *versionLister) key(key string, hasCurrent bool) (done bool, err error) {
	skipping := key == l.req.KeyMarker
	first := true
	emit := func(it Iterator) (bool, error) {
		o, err := it.Object()
		if err != nil {
			return false, err
		}
		latest := first
		first = false
		if skipping {
			if l.req.VersionIDMarker != "" && o.VersionName() == l.req.VersionIDMarker {
				skipping = false
			}
			return false, nil
		}
		if l.full() {
			return true, nil
		}
		o.Inline, o.Parts, o.Extents = nil, nil, nil
		l.res.Versions = append(l.res.Versions, proto.ObjectVersion{Object: o, IsLatest: latest})
		l.lastKey, l.lastVersion = key, o.VersionName()
		return false, nil
	}
	if hasCurrent {
		if full, err := emit(l.cur); full || err != nil {
			return full, err
		}
		l.cur.Next()
	}
	for {
		nk, ok := l.nonKey()
		if !ok || nk != key {
			return false, nil
		}
		if full, err := emit(l.non); full || err != nil {
			return full, err
		}
		l.non.Next()
	}
}

func (l *versionLister) full() bool {
	if len(l.res.Versions)+len(l.res.CommonPrefixes) < l.max {
		return false
	}
	l.res.IsTruncated = true
	l.res.NextKeyMarker, l.res.NextVersionIDMarker = l.lastKey, l.lastVersion
	return true
}

func commonPrefixOf(prefix, delim, key string) (string, bool) {
	if delim == "" || len(key) < len(prefix) {
		return "", false
	}
	rest := key[len(prefix):]
	i := bytes.Index([]byte(rest), []byte(delim))
	if i < 0 {
		return "", false
	}
	return key[:len(prefix)+i+len(delim)], true
}
