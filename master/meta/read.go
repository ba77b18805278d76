package meta

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/chunkindex"
	"github.com/granary-store/granary/master/meta/kv"
	"github.com/granary-store/granary/master/meta/listing"
)

// The queries below read the local state. Whether that state is fresh
// enough is the caller's business (Server.readBarrier).

// Bucket returns the named bucket.
func (f *FSM) Bucket(name string) (proto.Bucket, error) {
	var b proto.Bucket
	err := f.view(func(txn *badger.Txn) error {
		return kv.NotFoundAs(kv.Get(txn, bucketKey(name), &b), fmt.Errorf("bucket %s: %w", name, ErrNoSuchBucket))
	})
	return b, err
}

// Buckets returns every bucket, by name.
func (f *FSM) Buckets() ([]proto.Bucket, error) {
	out := []proto.Bucket{}
	err := scan(f, []byte("b/"), func(k, v []byte) error {
		var b proto.Bucket
		if err := kv.Decode(k, v, &b); err != nil {
			return err
		}
		out = append(out, b)
		return nil
	})
	return out, err
}

// Object returns an object's record.
func (f *FSM) Object(bucket, key string) (*proto.Object, error) {
	var o *proto.Object
	err := f.view(func(txn *badger.Txn) error {
		if err := requireBucket(txn, bucket); err != nil {
			return err
		}
		var err error
		o, err = getObject(txn, bucket, key)
		return err
	})
	return o, err
}

// Nodes returns the chunk server registry.
//
// The registry changes rarely and is read on every chunk lookup, so the
// last read is kept until a committed change or a restore (nodesGen).
func (f *FSM) Nodes() ([]Node, error) {
	gen := f.nodesGen.Load() // before the read: a change after it is seen next time
	f.nodesMu.Lock()
	if f.nodesCached && f.nodesCacheGen == gen {
		out := slices.Clone(f.nodesCache)
		f.nodesMu.Unlock()
		return out, nil
	}
	f.nodesMu.Unlock()
	var out []Node
	err := scan(f, []byte("n/"), func(k, v []byte) error {
		var n Node
		if err := kv.Decode(k, v, &n); err != nil {
			return err
		}
		out = append(out, n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	f.nodesMu.Lock()
	f.nodesCache, f.nodesCacheGen, f.nodesCached = out, gen, true
	f.nodesMu.Unlock()
	return slices.Clone(out), nil
}

// Members returns the master members' addresses by id.
func (f *FSM) Members() (map[proto.NodeID]Member, error) {
	out := map[proto.NodeID]Member{}
	err := scan(f, []byte("r/"), func(k, v []byte) error {
		var m Member
		if err := kv.Decode(k, v, &m); err != nil {
			return err
		}
		out[m.ID] = m
		return nil
	})
	return out, err
}

// Counters returns the number of referenced chunks and pending deletions.
func (f *FSM) Counters() (chunks, pendingDeletes uint64, err error) {
	err = f.view(func(txn *badger.Txn) error {
		chunks, pendingDeletes, err = chunkindex.Counters(txn)
		return err
	})
	return chunks, pendingDeletes, err
}

// ChunkSizes returns the bytes each referenced chunk holds, from the
// objects' extents (a scan of every object: used only for balancing).
func (f *FSM) ChunkSizes() (map[proto.ChunkID]int64, error) {
	out := map[proto.ChunkID]int64{}
	for _, prefix := range []string{"o/", "v/"} { // current and noncurrent versions
		err := scan(f, []byte(prefix), func(k, v []byte) error {
			var o proto.Object
			if err := kv.Decode(k, v, &o); err != nil {
				return err
			}
			for _, e := range o.Extents {
				if st := e.Stripe; st != nil {
					// A shard holds about a K-th of the stripe (rounded up
					// to whole cells); close enough for balancing.
					shard := (e.Length + int64(st.K) - 1) / int64(st.K)
					for _, id := range st.Shards {
						out[id] = max(out[id], shard)
					}
					continue
				}
				out[e.Chunk] = max(out[e.Chunk], e.ChunkOffset+e.Length)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GCChunks returns the chunks queued for deletion and not yet gone (the
// tombstones of finished deletions are skipped).
func (f *FSM) GCChunks() (map[proto.ChunkID]bool, error) {
	f.idxMu.RLock()
	defer f.idxMu.RUnlock()
	return f.idx.Queued(), nil
}

// Deleted returns which of ids were deleted for good: queued for deletion
// and acknowledged gone from every server then (a tombstone). Such an id
// never becomes committable again, so any replica of it that a server
// still reports, say one that was down during the deletion, is garbage.
func (f *FSM) Deleted(ids []proto.ChunkID) (map[proto.ChunkID]bool, error) {
	return viewed(f, func(txn *badger.Txn) (map[proto.ChunkID]bool, error) { return chunkindex.Deleted(txn, ids) })
}

// scan calls fn for every key under prefix in byte order.
func scan(f *FSM, prefix []byte, fn func(k, v []byte) error) error {
	return f.view(func(txn *badger.Txn) error { return kv.Scan(txn, prefix, fn) })
}

// List returns one page of a bucket's keys in byte order. With a delimiter,
// keys that share a prefix up to the delimiter roll up into one common
// prefix, and the iterator seeks past the whole group at once: the work is
// proportional to the page, not to the keys under the prefix.
func (f *FSM) List(req proto.ListRequest) (proto.ListResult, error) {
	res := proto.ListResult{Objects: []proto.Object{}, CommonPrefixes: []string{}}
	max := req.MaxKeys
	if max <= 0 || max > proto.MaxListKeys {
		max = proto.MaxListKeys
	}
	err := f.view(func(txn *badger.Txn) error {
		if err := requireBucket(txn, req.Bucket); err != nil {
			return err
		}
		base := objectPrefix(req.Bucket)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: append(base, req.Prefix...)})
		defer it.Close()
		return listing.Objects(iter{it}, base, req, max, &res)
	})
	return res, err
}

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
		obase, vbase := objectPrefix(req.Bucket), []byte("v/"+req.Bucket+"/")
		cur := txn.NewIterator(badger.IteratorOptions{Prefix: append(bytes.Clone(obase), req.Prefix...)})
		defer cur.Close()
		non := txn.NewIterator(badger.IteratorOptions{Prefix: append(bytes.Clone(vbase), req.Prefix...)})
		defer non.Close()
		return listing.Versions(iter{cur}, iter{non}, obase, vbase, req, max, &res)
	})
	return res, err
}

// iter adapts a Badger iterator to listing.Iterator.
type iter struct{ *badger.Iterator }

func (i iter) Key() []byte { return i.Item().Key() }

func (i iter) Object() (proto.Object, error) {
	var o proto.Object
	err := i.Item().Value(func(v []byte) error { return kv.Decode(i.Item().Key(), v, &o) })
	return o, err
}

// Upload returns an upload and its parts.
func (f *FSM) Upload(bucket, id string) (proto.Upload, []proto.Part, error) {
	var u *proto.Upload
	var ps []proto.Part
	err := f.view(func(txn *badger.Txn) error {
		var err error
		if u, err = getUpload(txn, bucket, id); err != nil {
			return err
		}
		ps, err = parts(txn, u.Bucket, u.ID)
		return err
	})
	if err != nil {
		return proto.Upload{}, nil, err
	}
	return *u, ps, nil
}

// Uploads returns up to max in-progress uploads of bucket whose key
// starts with prefix, in storage order.
func (f *FSM) Uploads(bucket, prefix string, max int) ([]proto.Upload, error) {
	out := []proto.Upload{}
	err := scan(f, []byte("p/"+bucket+"/"), func(k, v []byte) error {
		var u proto.Upload
		if err := kv.Decode(k, v, &u); err != nil {
			return err
		}
		if len(out) < max && len(u.Key) >= len(prefix) && u.Key[:len(prefix)] == prefix {
			out = append(out, u)
		}
		return nil
	})
	return out, err
}

// UploadsAfter returns up to max in-progress uploads of bucket whose id
// sorts after the id after ("" for the first), in id order: a page the
// lifecycle worker resumes from.
func (f *FSM) UploadsAfter(bucket, after string, max int) ([]proto.Upload, error) {
	out := []proto.Upload{}
	prefix := []byte("p/" + bucket + "/")
	err := f.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		for it.Seek(append(append([]byte{}, prefix...), after+"\x00"...)); it.Valid() && len(out) < max; it.Next() {
			item := it.Item()
			var u proto.Upload
			if err := item.Value(func(v []byte) error { return kv.Decode(item.Key(), v, &u) }); err != nil {
				return err
			}
			out = append(out, u)
		}
		return nil
	})
	return out, err
}
