package meta

import (
	"bytes"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
)

// ListVersions returns one page of a bucket's object versions: keys in
// byte order, each key's versions newest first (its current version, then
// the noncurrent ones of v/). The two indexes are walked side by side;
// common prefixes are skipped at once in both, as in List.
func (f *FSM) ListVersions(req proto.VersionsRequest) (proto.VersionsResult, error) {
	res := proto.VersionsResult{Versions: []proto.ObjectVersion{}, CommonPrefixes: []string{}}
	max := req.MaxKeys
	if max <= 0 || max > proto.MaxListKeys {
		max = proto.MaxListKeys
	}
	err := f.view(func(txn *badger.Txn) error {
		if err := requireBucket(txn, req.Bucket); err != nil {
			return err
		}
		l := versionLister{req: req, max: max, res: &res,
			obase: objectPrefix(req.Bucket), vbase: []byte("v/" + req.Bucket + "/")}
		l.cur = txn.NewIterator(badger.IteratorOptions{Prefix: append(bytes.Clone(l.obase), req.Prefix...)})
		defer l.cur.Close()
		l.non = txn.NewIterator(badger.IteratorOptions{Prefix: append(bytes.Clone(l.vbase), req.Prefix...)})
		defer l.non.Close()
		return l.run()
	})
	return res, err
}

type versionLister struct {
	req          proto.VersionsRequest
	max          int
	res          *proto.VersionsResult
	obase, vbase []byte
	cur, non     *badger.Iterator
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
	return string(l.cur.Item().Key()[len(l.obase):]), true
}

func (l *versionLister) nonKey() (string, bool) {
	if !l.non.Valid() {
		return "", false
	}
	k := l.non.Item().Key()
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
			end := prefixEnd(cp)
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
	emit := func(it *badger.Iterator) (bool, error) {
		var o proto.Object
		if err := it.Item().Value(func(v []byte) error { return decodeValue(it.Item().Key(), v, &o) }); err != nil {
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
