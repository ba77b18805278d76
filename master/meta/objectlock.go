package meta

import (
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/kv"
	"github.com/granary-store/granary/master/meta/validate"
)

// applyLockDefaults checks a new version's object lock fields against its
// bucket, and gives it the bucket's default retention when it asks for
// none, counted from its modification time (the leader's clock).
func applyLockDefaults(b *proto.Bucket, obj *proto.Object) error {
	asked := obj.LockMode != "" || obj.LockUntil != "" || obj.LegalHold != ""
	if !b.ObjectLock {
		if asked {
			return fmt.Errorf("bucket %s has no object lock: %w", b.Name, ErrInvalid)
		}
		return nil
	}
	if obj.LegalHold != "" && obj.LegalHold != proto.LegalHoldOn && obj.LegalHold != proto.LegalHoldOff {
		return fmt.Errorf("legal hold %q: %w", obj.LegalHold, ErrInvalid)
	}
	if obj.LockMode == "" && obj.LockUntil == "" {
		if b.LockRule != nil {
			obj.LockMode = b.LockRule.Mode
			obj.LockUntil = b.LockRule.Until(obj.Modified).UTC().Format(time.RFC3339)
		}
		return nil
	}
	return validate.Retention(obj.LockMode, obj.LockUntil)
}

// checkUnlocked refuses a removal by version id that a lock forbids.
func checkUnlocked(rec *proto.Object, c *DeleteObject) error {
	var at time.Time
	if c.At != nil {
		at = *c.At
	}
	if rec.LockedAt(at, c.BypassGovernance) {
		return fmt.Errorf("version %s of %s/%s is locked: %w", rec.VersionName(), rec.Bucket, rec.Key, ErrLocked)
	}
	return nil
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
		if err := retentionChange(rec, r.Retain, r.Bypass, c.At); err != nil {
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

// retentionChange checks a retention change at now.
func retentionChange(rec *proto.Object, to *proto.Retention, bypass bool, now time.Time) error {
	if to.Mode != "" || to.Until != "" {
		if err := validate.Retention(to.Mode, to.Until); err != nil {
			return err
		}
		until, _ := time.Parse(time.RFC3339Nano, to.Until)
		if !until.After(now) {
			return fmt.Errorf("retain-until date %s is not in the future: %w", to.Until, ErrInvalid)
		}
	}
	if rec.LockMode == "" {
		return nil
	}
	old, err := time.Parse(time.RFC3339Nano, rec.LockUntil)
	if err != nil || !now.Before(old) {
		return nil // expired: anything goes
	}
	newUntil, _ := time.Parse(time.RFC3339Nano, to.Until)
	weaker := to.Mode == "" || newUntil.Before(old) ||
		rec.LockMode == proto.LockCompliance && to.Mode != proto.LockCompliance
	switch {
	case !weaker:
		return nil
	case rec.LockMode == proto.LockGovernance && bypass:
		return nil
	}
	return fmt.Errorf("the %s retention of %s/%s until %s cannot be shortened or removed: %w", rec.LockMode, rec.Bucket, rec.Key, rec.LockUntil, ErrLocked)
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
