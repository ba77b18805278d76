package meta

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/kv"
	"github.com/granary-store/granary/master/meta/precond"
)

// checkUnlocked refuses a removal by version id that a lock forbids.
func checkUnlocked(rec *proto.Object, c *DeleteObject) error {
	return precond.Unlocked(rec, c.At, c.BypassGovernance)
}

// applySetLock changes one version's retention or legal hold. A running
// COMPLIANCE retention can only be extended; a running GOVERNANCE one can
// be shortened, removed or weakened only with Bypass.
func applySetLock(txn *badger.Txn, _ uint64, c *SetLock) (any, error) {
	r := c.Req
	b, err := getBucket(txn, r.Bucket)
	if err != nil {
		return nil, err
	}
	if !b.ObjectLock {
		return nil, fmt.Errorf("bucket %s has no object lock: %w", r.Bucket, ErrInvalid)
	}
	if r.LegalHold != "" && r.LegalHold != proto.LegalHoldOn && r.LegalHold != proto.LegalHoldOff {
		return nil, fmt.Errorf("legal hold %q: %w", r.LegalHold, ErrInvalid)
	}
	rec, current, err := findVersion(txn, r.Bucket, r.Key, r.VersionID)
	if err != nil {
		return nil, err
	}
	if rec.DeleteMarker {
		return nil, fmt.Errorf("version %s of %s/%s is a delete marker: %w", rec.VersionName(), r.Bucket, r.Key, ErrInvalid)
	}
	if r.Retain != nil {
		if err := precond.Retention(rec, r.Retain, r.Bypass, c.At); err != nil {
			return nil, err
		}
		rec.LockMode, rec.LockUntil = r.Retain.Mode, r.Retain.Until
	}
	if r.LegalHold != "" {
		rec.LegalHold = r.LegalHold
	}
	if current {
		return nil, kv.Put(txn, objectKey(r.Bucket, r.Key), rec)
	}
	return nil, kv.Put(txn, versionKey(r.Bucket, r.Key, rec.Version), rec)
}

// findVersion finds a version by id ("": the current one) as stored (its
// inline bytes where they are); current says it is the o/ record.
func findVersion(txn *badger.Txn, bucket, key, id string) (*proto.Object, bool, error) {
	cur, err := getRecord(txn, bucket, key)
	if err != nil && (id == "" || !isNoSuchKey(err)) {
		return nil, false, err
	}
	if cur != nil && (id == "" || sameVersion(cur, id)) {
		return cur, true, nil
	}
	rec, err := noncurrentVersion(txn, bucket, key, id)
	return rec, false, err
}
