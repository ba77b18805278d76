package meta

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/chunkindex"
	"github.com/granary-store/granary/master/meta/kv"
	"github.com/granary-store/granary/master/meta/precond"
	"github.com/granary-store/granary/master/meta/validate"
)

// Badger key layout of the state (values are a format byte, then JSON;
// see package kv):
//
//	m/applied            last applied Raft index (8 bytes, big endian)
//	m/chunkhw            next unallocated chunk id (8 bytes; chunkindex)
//	m/nchunks, m/ngc     counters of referenced and to-be-deleted chunks
//	b/<bucket>           proto.Bucket
//	o/<bucket>/<key>     proto.Object (bucket names contain no '/')
//	c/<chunk id BE>      "<bucket>/<key>" of the object referencing it
//	g/<chunk id BE>      chunk no object references: delete from disks
//	x/<chunk id BE>      chunk deleted from every server: never committable
//	s/<chunk id BE>      StripeRecord of the stripe whose first shard it is
//	                     (c/, g/, x/, s/: package chunkindex)
//	n/<node id>          Node (chunk server registry)
//	r/<member id>        Member (master HTTP addresses)
//	u/<user>             proto.User (u/, k/, a/: package access)
//	k/<access key>       proto.AccessKey
//	a/<policy name>      proto.AccessPolicy
//	p/, q/               multipart uploads and their parts (upload.go)
//	i/<request id>       outcome of a change asked for under that id
//	it/<at BE><id>       the same ids by proposal time, for expiry
//	m/outcomefloor       an it/ key no live it/ key is below (dedup.go)

func bucketKey(name string) []byte { return []byte("b/" + name) }
func objectPrefix(bucket string) []byte {
	return []byte("o/" + bucket + "/")
}
func objectKey(bucket, key string) []byte { return append(objectPrefix(bucket), key...) }

// applyCommand decodes and applies one command in txn.
func applyCommand(txn *badger.Txn, index uint64, data []byte) (any, error) {
	h, body, err := decodeHeader(data)
	if err != nil {
		return nil, err
	}
	fn, ok := handlers[h.op]
	if !ok {
		return nil, fmt.Errorf("master: opcode %d: %w", byte(h.op), ErrBadCommand)
	}
	if h.id != "" {
		return applyOnce(txn, index, h, body, fn)
	}
	return fn(txn, index, body)
}

type handler func(txn *badger.Txn, index uint64, body []byte) (any, error)

// handlers maps opcodes to their state transitions. Each one validates and
// reads first, then writes, so a refused command leaves no partial effects.
var handlers map[Op]handler

func init() {
	handlers = map[Op]handler{
		OpCreateBucket:   decoded(applyCreateBucket),
		OpDeleteBucket:   decoded(applyDeleteBucket),
		OpPutObject:      decoded(applyPutObject),
		OpDeleteObject:   decoded(applyDeleteObject),
		OpRenameObject:   decoded(applyRenameObject),
		OpAllocChunks:    decoded(applyAllocChunks),
		OpRegisterNode:   decoded(applyRegisterNode),
		OpSetMember:      decoded(applySetMember),
		OpRemoveMember:   decoded(applyRemoveMember),
		OpPutUser:        decoded(applyPutUser),
		OpPutKey:         decoded(applyPutKey),
		OpDeleteKey:      decoded(applyDeleteKey),
		OpSetNodeState:   decoded(applySetNodeState),
		OpAckGCDeletion:  decoded(applyAckGCDeletion),
		OpCollectOrphans: decoded(applyCollectOrphans),
		OpCreateUpload:   decoded(applyCreateUpload),
		OpPutPart:        decoded(applyPutPart),
		OpCompleteUpload: decoded(applyCompleteUpload),
		OpAbortUpload:    decoded(applyAbortUpload),
		OpPutObjectTags:  decoded(applyPutObjectTags),
		OpPutBucketConf:  decoded(applyPutBucketConf),
		OpSetVersioning:  decoded(applySetVersioning),
		OpSetLock:        decoded(applySetLock),

		OpSetKeyStatus:       decoded(applySetKeyStatus),
		OpDeleteUser:         decoded(applyDeleteUser),
		OpPutAccessPolicy:    decoded(applyPutAccessPolicy),
		OpDeleteAccessPolicy: decoded(applyDeleteAccessPolicy),
		OpAttachPolicy:       decoded(applyAttachPolicy),
		OpPutObjectACL:       decoded(applyPutObjectACL),
		OpRenamePrefix:       decoded(applyRenamePrefix),
		OpReplaceExtents:     decoded(applyReplaceExtents),
		OpSetMeta:            decoded(applySetMeta),
	}
}

// decoded adapts a typed handler to the raw one, strictly decoding JSON.
func decoded[T any](fn func(txn *badger.Txn, index uint64, c *T) (any, error)) handler {
	return func(txn *badger.Txn, index uint64, body []byte) (any, error) {
		c := new(T)
		if err := json.Unmarshal(body, c); err != nil {
			return nil, fmt.Errorf("master: decode payload: %v: %w", err, ErrBadCommand)
		}
		return fn(txn, index, c)
	}
}

func applyCreateBucket(txn *badger.Txn, _ uint64, c *CreateBucket) (any, error) {
	if err := proto.ValidBucketName(c.Bucket.Name); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	found, err := kv.Exists(txn, bucketKey(c.Bucket.Name))
	if err != nil {
		return nil, err
	}
	if found {
		return nil, fmt.Errorf("bucket %s: %w", c.Bucket.Name, ErrBucketExists)
	}
	if c.Bucket.ObjectLock != (c.Bucket.Versioning == proto.VersioningEnabled && c.Bucket.ObjectLock) || c.Bucket.LockRule != nil {
		return nil, fmt.Errorf("bucket %s: object lock at creation needs versioning Enabled and no rule: %w", c.Bucket.Name, ErrInvalid)
	}
	if err := validate.BucketAccess(&c.Bucket); err != nil {
		return nil, err
	}
	return nil, kv.Put(txn, bucketKey(c.Bucket.Name), c.Bucket)
}

func applyDeleteBucket(txn *badger.Txn, _ uint64, c *DeleteBucket) (any, error) {
	if err := requireBucket(txn, c.Name); err != nil {
		return nil, err
	}
	for _, prefix := range [][]byte{objectPrefix(c.Name), []byte("p/" + c.Name + "/"), []byte("v/" + c.Name + "/")} {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		it.Rewind()
		busy := it.Valid()
		it.Close()
		if busy {
			return nil, fmt.Errorf("bucket %s holds objects or uploads: %w", c.Name, ErrBucketNotEmpty)
		}
	}
	return nil, kv.Del(txn, bucketKey(c.Name))
}

func applyPutObject(txn *badger.Txn, index uint64, c *PutObject) (any, error) {
	obj := c.Object
	if err := validate.Object(&obj); err != nil {
		return nil, err
	}
	b, err := getBucket(txn, obj.Bucket)
	if err != nil {
		return nil, err
	}
	if obj.VersionID != "" || obj.DeleteMarker {
		return nil, fmt.Errorf("object %s/%s: a commit cannot set a version id or a delete marker: %w", obj.Bucket, obj.Key, ErrInvalid)
	}
	if err := precond.LockDefaults(b, &obj); err != nil {
		return nil, err
	}
	old, err := getRecord(txn, obj.Bucket, obj.Key)
	if err != nil && !errors.Is(err, ErrNoSuchKey) {
		return nil, err
	}
	if err := precond.ETag(old, c.IfETag); err != nil {
		return nil, err
	}
	if err := precond.Version(old, c.IfVersion); err != nil {
		return nil, err
	}
	// The chunks of an overwritten version stay in use when it is kept.
	var gone *proto.Object
	if replaces(b, old) {
		gone = old
	}
	oldSet, newSet := chunkindex.Set(gone), chunkindex.Set(&obj)
	if err := chunkindex.CheckFresh(txn, newSet, oldSet); err != nil {
		return nil, err
	}
	// Reads and checks are done; from here on only writes.
	obj.Version = index
	if err := chunkindex.Swap(txn, oldSet, newSet, obj.Bucket+"/"+obj.Key); err != nil {
		return nil, err
	}
	if err := chunkindex.SwapStripes(txn, chunkindex.ObjectStripes(gone), chunkindex.ObjectStripes(&obj)); err != nil {
		return nil, err
	}
	if err := setCurrent(txn, b, &obj, old, gone != nil); err != nil {
		return nil, err
	}
	if b.Versioning == "" {
		return obj.Version, nil // the result of every commit before versioning
	}
	return CommitResult{Version: obj.Version, VersionID: obj.VersionID}, nil
}

// CommitResult is what a commit in a versioned bucket answers: the
// record's version and its S3 version id. A commit in a bucket never
// versioned answers the version alone (a uint64), as it always has.
type CommitResult struct {
	Version   uint64 `json:"version"`
	VersionID string `json:"versionId"`
}

// checkDelete enforces a conditional delete on the current record.
func checkDelete(old *proto.Object, c *DeleteObject) error {
	return precond.Delete(old, c.IfETag, c.IfVersion, c.IfSize, c.IfModified)
}

func applyDeleteObject(txn *badger.Txn, index uint64, c *DeleteObject) (any, error) {
	b, err := getBucket(txn, c.Bucket)
	if err != nil {
		return nil, err
	}
	switch {
	case c.VersionID != "":
		return deleteVersion(txn, c)
	case b.Versioning != "":
		return deleteVersioned(txn, index, b, c)
	}
	old, err := getRecord(txn, c.Bucket, c.Key)
	if err != nil {
		return nil, err
	}
	if err := checkDelete(old, c); err != nil {
		return nil, err
	}
	if err := chunkindex.SwapObject(txn, old, nil, ""); err != nil {
		return nil, err
	}
	return nil, deleteObjectRecord(txn, old)
}

func applyRenameObject(txn *badger.Txn, index uint64, c *RenameObject) (any, error) {
	if err := proto.ValidKey(c.To); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	b, err := getBucket(txn, c.Bucket)
	if err != nil {
		return nil, err
	}
	if b.Versioning != "" {
		return nil, fmt.Errorf("bucket %s is versioned: rename would rewrite history: %w", c.Bucket, ErrInvalid)
	}
	rec, err := getRecord(txn, c.Bucket, c.From) // as stored: tells where its bytes are
	if err != nil {
		return nil, err
	}
	if c.From == c.To {
		return rec.Version, nil
	}
	src, err := withInline(txn, rec)
	if err != nil {
		return nil, err
	}
	dst, err := getRecord(txn, c.Bucket, c.To)
	if err != nil && !errors.Is(err, ErrNoSuchKey) {
		return nil, err
	}
	if err := chunkindex.SwapObject(txn, dst, nil, ""); err != nil {
		return nil, err
	}
	if err := deleteObjectRecord(txn, rec); err != nil {
		return nil, err
	}
	src.Key, src.Version, src.Modified = c.To, index, c.Modified
	set := chunkindex.Set(src) // repoint the chunk index at the new key; its stripes stay
	if err := chunkindex.Swap(txn, set, set, c.Bucket+"/"+c.To); err != nil {
		return nil, err
	}
	return src.Version, putObjectRecord(txn, *src, dst)
}

// ChunkIDs returns the distinct chunks of an object's extents, ascending.
func ChunkIDs(obj *proto.Object) []proto.ChunkID { return chunkindex.Sorted(chunkindex.Set(obj)) }

func applyAllocChunks(txn *badger.Txn, _ uint64, c *AllocChunks) (any, error) {
	first, err := chunkindex.Alloc(txn, c.Count)
	if first == 0 {
		return nil, err
	}
	return first, err
}

func applyAckGCDeletion(txn *badger.Txn, _ uint64, c *AckGCDeletion) (any, error) {
	return counted(chunkindex.AckDeleted(txn, c.Chunks))
}

func applyCollectOrphans(txn *badger.Txn, _ uint64, c *CollectOrphans) (any, error) {
	return counted(chunkindex.CollectOrphans(txn, c.Chunks))
}

// counted answers a count, or nothing with an error.
func counted(n int64, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return n, nil
}
