package meta

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/chunkindex"
	"github.com/granary-store/granary/master/meta/kv"
	"github.com/granary-store/granary/master/meta/precond"
	"github.com/granary-store/granary/master/meta/validate"
)

// Multipart uploads in the state:
//
//	p/<bucket>/<upload id>             proto.Upload
//	q/<bucket>/<upload id>/<nnnnn>     proto.Part (zero-padded number)
//
// A part's chunks are referenced from the chunk index as
// "<bucket>/\x00upload/<id>/<n>" until completion moves them to the object:
// completion stitches extents, it never copies data.

func uploadKey(bucket, id string) []byte { return []byte("p/" + bucket + "/" + id) }
func partPrefix(bucket, id string) []byte {
	return []byte("q/" + bucket + "/" + id + "/")
}
func partKey(bucket, id string, n int) []byte {
	return append(partPrefix(bucket, id), fmt.Sprintf("%05d", n)...)
}
func partRef(bucket, id string, n int) string {
	return fmt.Sprintf("%s/\x00upload/%s/%d", bucket, id, n)
}

type (
	// CreateUpload is the payload of OpCreateUpload.
	CreateUpload struct {
		Upload proto.Upload `json:"upload"`
	}
	// PutPart is the payload of OpPutPart.
	PutPart struct {
		Bucket   string     `json:"bucket"`
		UploadID string     `json:"uploadId"`
		Part     proto.Part `json:"part"`
	}
	// CompleteUpload is the payload of OpCompleteUpload.
	CompleteUpload struct {
		Req    proto.CompleteRequest `json:"req"`
		Object proto.Object          `json:"object"` // time chosen by the leader
	}
	// AbortUpload is the payload of OpAbortUpload.
	AbortUpload struct {
		Ref proto.UploadRef `json:"ref"`
	}
)

func applyCreateUpload(txn *badger.Txn, _ uint64, c *CreateUpload) (any, error) {
	u := c.Upload
	if err := proto.ValidKey(u.Key); err != nil || proto.ValidID("upload", u.ID) != nil {
		return nil, fmt.Errorf("upload %q for key %q: %w", u.ID, u.Key, ErrInvalid)
	}
	if err := requireBucket(txn, u.Bucket); err != nil {
		return nil, err
	}
	return u, kv.Put(txn, uploadKey(u.Bucket, u.ID), u)
}

func getUpload(txn *badger.Txn, bucket, id string) (*proto.Upload, error) {
	var u proto.Upload
	if err := kv.Get(txn, uploadKey(bucket, id), &u); err != nil {
		return nil, kv.NotFoundAs(err, fmt.Errorf("upload %s: %w", id, ErrNoSuchUpload))
	}
	return &u, nil
}

func applyPutPart(txn *badger.Txn, _ uint64, c *PutPart) (any, error) {
	p := c.Part
	if p.Number < 1 || p.Number > proto.MaxPartNumber {
		return nil, fmt.Errorf("part number %d: %w", p.Number, ErrInvalid)
	}
	if err := validate.Checksum(p.Checksum); err != nil {
		return nil, fmt.Errorf("part %d: %w", p.Number, err)
	}
	if _, err := getUpload(txn, c.Bucket, c.UploadID); err != nil {
		return nil, err
	}
	shape := proto.Object{Bucket: c.Bucket, Key: "part", Size: p.Size, Extents: p.Extents}
	if err := validate.Layout(&shape, func(f string, a ...any) error {
		return fmt.Errorf("part %d: %s: %w", p.Number, fmt.Sprintf(f, a...), ErrInvalid)
	}); err != nil {
		return nil, err
	}
	var old *proto.Object
	var prev proto.Part
	if err := kv.Get(txn, partKey(c.Bucket, c.UploadID, p.Number), &prev); err == nil {
		old = &proto.Object{Extents: prev.Extents}
	} else if !kv.IsNotFound(err) {
		return nil, err
	}
	oldSet, newSet := chunkindex.Set(old), chunkindex.Set(&shape)
	if err := chunkindex.CheckFresh(txn, newSet, oldSet); err != nil {
		return nil, err
	}
	if err := chunkindex.Swap(txn, oldSet, newSet, partRef(c.Bucket, c.UploadID, p.Number)); err != nil {
		return nil, err
	}
	if err := chunkindex.SwapStripes(txn, chunkindex.ObjectStripes(old), chunkindex.StripeSet(p.Extents)); err != nil {
		return nil, err
	}
	return nil, kv.Put(txn, partKey(c.Bucket, c.UploadID, p.Number), p)
}

// parts returns an upload's parts in number order.
func parts(txn *badger.Txn, bucket, id string) ([]proto.Part, error) {
	var out []proto.Part
	it := txn.NewIterator(badger.IteratorOptions{Prefix: partPrefix(bucket, id), PrefetchValues: true})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		var p proto.Part
		item := it.Item()
		if err := item.Value(func(v []byte) error { return kv.Decode(item.Key(), v, &p) }); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func applyCompleteUpload(txn *badger.Txn, index uint64, c *CompleteUpload) (any, error) {
	r := c.Req
	u, err := getUpload(txn, r.Bucket, r.UploadID)
	if err != nil {
		return nil, err
	}
	b, err := getBucket(txn, u.Bucket)
	if err != nil {
		return nil, err
	}
	old, err := getRecord(txn, u.Bucket, u.Key)
	if err != nil && !errors.Is(err, ErrNoSuchKey) {
		return nil, err
	}
	if err := precond.ETag(old, r.IfETag); err != nil {
		return nil, err
	}
	if r.IfNoneMatch && old != nil {
		return nil, fmt.Errorf("object %s exists: %w", old.Key, ErrPrecondition)
	}
	have, err := parts(txn, r.Bucket, r.UploadID)
	if err != nil {
		return nil, err
	}
	obj, used, err := stitch(u, have, r.Parts, c.Object)
	if err != nil {
		return nil, err
	}
	obj.Checksum = r.Checksum
	if err := validate.Headers(obj.ObjectHeaders); err != nil {
		return nil, fmt.Errorf("complete upload %s: %w", u.ID, err)
	}
	if err := precond.LockDefaults(b, &obj); err != nil {
		return nil, fmt.Errorf("complete upload %s: %w", u.ID, err)
	}
	// Writes: the parts' chunks move to the object, unused parts' chunks and
	// the overwritten object's chunks are freed, the records go.
	obj.Version = index
	unused := map[proto.ChunkID]bool{}
	var unusedExtents [][]proto.Extent
	for _, p := range have {
		if !used[p.Number] {
			unusedExtents = append(unusedExtents, p.Extents)
			for _, e := range p.Extents {
				for _, id := range e.Chunks() {
					unused[id] = true
				}
			}
		}
	}
	objSet := chunkindex.Set(&obj) // the used parts' stripes are indexed already
	if err := chunkindex.Swap(txn, objSet, objSet, u.Bucket+"/"+u.Key); err != nil {
		return nil, err
	}
	if err := chunkindex.Swap(txn, unused, nil, ""); err != nil {
		return nil, err
	}
	if err := chunkindex.SwapStripes(txn, chunkindex.StripeSet(unusedExtents...), nil); err != nil {
		return nil, err
	}
	replaced := replaces(b, old) // else the overwritten version is kept, chunks and all
	if replaced {
		if err := chunkindex.SwapObject(txn, old, nil, ""); err != nil {
			return nil, err
		}
	}
	if err := dropUpload(txn, u, have); err != nil {
		return nil, err
	}
	return obj, setCurrent(txn, b, &obj, old, replaced)
}

// stitch builds the object from the named parts, checking S3's rules.
func stitch(u *proto.Upload, have []proto.Part, named []proto.CompletePart, base proto.Object) (proto.Object, map[int]bool, error) {
	byNum := map[int]proto.Part{}
	for _, p := range have {
		byNum[p.Number] = p
	}
	if len(named) == 0 {
		return proto.Object{}, nil, fmt.Errorf("no parts named: %w", ErrInvalidPart)
	}
	obj := base
	obj.Bucket, obj.Key, obj.ContentType, obj.Meta, obj.Size, obj.Extents, obj.Inline = u.Bucket, u.Key, u.ContentType, u.Meta, 0, nil, nil
	obj.ObjectHeaders = u.ObjectHeaders
	obj.Parts = make([]proto.ObjectPart, 0, len(named))
	for i := 1; i < len(named); i++ { // order first, as S3 checks it
		if named[i].Number <= named[i-1].Number {
			return proto.Object{}, nil, fmt.Errorf("part %d after part %d: %w", named[i].Number, named[i-1].Number, ErrInvalidPartOrder)
		}
	}
	used := map[int]bool{}
	sums := md5.New()
	for i, np := range named {
		p, ok := byNum[np.Number]
		if !ok || strings.Trim(np.ETag, `"`) != p.ETag {
			return proto.Object{}, nil, fmt.Errorf("part %d: %w", np.Number, ErrInvalidPart)
		}
		if i < len(named)-1 && p.Size < proto.MinPartSize {
			return proto.Object{}, nil, fmt.Errorf("part %d is %d bytes, the minimum is %d: %w", p.Number, p.Size, proto.MinPartSize, ErrEntityTooSmall)
		}
		raw, _ := hex.DecodeString(p.ETag)
		sums.Write(raw)
		for _, e := range p.Extents {
			e.Offset += obj.Size
			obj.Extents = append(obj.Extents, e)
		}
		obj.Size += p.Size
		obj.Parts = append(obj.Parts, proto.ObjectPart{Number: p.Number, Size: p.Size, Checksum: p.Checksum})
		used[p.Number] = true
	}
	if len(obj.Extents) > proto.MaxExtents {
		return proto.Object{}, nil, fmt.Errorf("%d extents: %w", len(obj.Extents), ErrTooLarge)
	}
	obj.ETag = fmt.Sprintf("%x-%d", sums.Sum(nil), len(named))
	return obj, used, nil
}

func dropUpload(txn *badger.Txn, u *proto.Upload, have []proto.Part) error {
	for _, p := range have {
		if err := kv.Del(txn, partKey(u.Bucket, u.ID, p.Number)); err != nil {
			return err
		}
	}
	return kv.Del(txn, uploadKey(u.Bucket, u.ID))
}

func applyAbortUpload(txn *badger.Txn, _ uint64, c *AbortUpload) (any, error) {
	u, err := getUpload(txn, c.Ref.Bucket, c.Ref.UploadID)
	if err != nil {
		return nil, err
	}
	have, err := parts(txn, u.Bucket, u.ID)
	if err != nil {
		return nil, err
	}
	freed := map[proto.ChunkID]bool{}
	var extents [][]proto.Extent
	for _, p := range have {
		extents = append(extents, p.Extents)
		for _, e := range p.Extents {
			for _, id := range e.Chunks() {
				freed[id] = true
			}
		}
	}
	if err := chunkindex.Swap(txn, freed, nil, ""); err != nil {
		return nil, err
	}
	if err := chunkindex.SwapStripes(txn, chunkindex.StripeSet(extents...), nil); err != nil {
		return nil, err
	}
	return nil, dropUpload(txn, u, have)
}
