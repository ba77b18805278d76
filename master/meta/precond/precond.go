// Package precond holds the checks a change to an object passes before the
// state writes anything: the conditions of a conditional request (version,
// If-Match ETag, size, modification time) and the object lock rules
// (default retention, retention changes, removals). It does no storage;
// refusals are metaerr sentinels.
package precond

import (
	"fmt"
	"strings"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/metaerr"
	"github.com/granary-store/granary/master/meta/validate"
)

// Version enforces a conditional commit on version want (0: none,
// proto.MustNotExist: absent); old is nil when absent.
func Version(old *proto.Object, want uint64) error {
	switch {
	case want == 0:
		return nil
	case want == proto.MustNotExist && old != nil:
		return fmt.Errorf("object %s exists: %w", old.Key, metaerr.ErrPrecondition)
	case want != proto.MustNotExist && (old == nil || old.Version != want):
		return fmt.Errorf("object is not at version %d: %w", want, metaerr.ErrPrecondition)
	}
	return nil
}

// ETag enforces an If-Match condition; old is nil when absent, which
// S3 answers with NoSuchKey rather than a failed precondition.
func ETag(old *proto.Object, want string) error {
	switch {
	case want == "":
		return nil
	case old == nil:
		return fmt.Errorf("object to match ETag %s: %w", want, metaerr.ErrNoSuchKey)
	case !sameETag(old.ETag, want):
		return fmt.Errorf("object %s has ETag %s, not %s: %w", old.Key, old.ETag, want, metaerr.ErrPrecondition)
	}
	return nil
}

// sameETag compares ETags without their surrounding quotes.
func sameETag(a, b string) bool { return strings.Trim(a, `"`) == strings.Trim(b, `"`) }

// Delete enforces a conditional delete on the current record old: its
// ETag, version, size and modification time, each when asked.
func Delete(old *proto.Object, ifETag string, ifVersion uint64, ifSize *int64, ifModified *time.Time) error {
	if err := ETag(old, ifETag); err != nil {
		return err
	}
	if ifVersion != 0 && old.Version != ifVersion {
		return fmt.Errorf("object %s is at version %d, not %d: %w", old.Key, old.Version, ifVersion, metaerr.ErrPrecondition)
	}
	if ifSize != nil && old.Size != *ifSize {
		return fmt.Errorf("object %s is %d bytes, not %d: %w", old.Key, old.Size, *ifSize, metaerr.ErrPrecondition)
	}
	if ifModified != nil && old.Modified.Unix() != ifModified.Unix() {
		return fmt.Errorf("object %s was modified at %v, not %v: %w", old.Key, old.Modified, *ifModified, metaerr.ErrPrecondition)
	}
	return nil
}

// LockDefaults checks a new version's object lock fields against its
// bucket, and gives it the bucket's default retention when it asks for
// none, counted from its modification time (the leader's clock).
func LockDefaults(b *proto.Bucket, obj *proto.Object) error {
	asked := obj.LockMode != "" || obj.LockUntil != "" || obj.LegalHold != ""
	if !b.ObjectLock {
		if asked {
			return fmt.Errorf("bucket %s has no object lock: %w", b.Name, metaerr.ErrInvalid)
		}
		return nil
	}
	if obj.LegalHold != "" && obj.LegalHold != proto.LegalHoldOn && obj.LegalHold != proto.LegalHoldOff {
		return fmt.Errorf("legal hold %q: %w", obj.LegalHold, metaerr.ErrInvalid)
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

// Unlocked refuses a removal by version id of rec at time at (nil: the
// zero time) that a lock forbids; bypass passes a GOVERNANCE retention.
func Unlocked(rec *proto.Object, at *time.Time, bypass bool) error {
	var t time.Time
	if at != nil {
		t = *at
	}
	if rec.LockedAt(t, bypass) {
		return fmt.Errorf("version %s of %s/%s is locked: %w", rec.VersionName(), rec.Bucket, rec.Key, metaerr.ErrLocked)
	}
	return nil
}

// Retention checks a change of rec's retention to to at now. A running
// COMPLIANCE retention can only be extended; a running GOVERNANCE one can
// be shortened, removed or weakened only with bypass.
func Retention(rec *proto.Object, to *proto.Retention, bypass bool, now time.Time) error {
	if to.Mode != "" || to.Until != "" {
		if err := validate.Retention(to.Mode, to.Until); err != nil {
			return err
		}
		until, _ := time.Parse(time.RFC3339Nano, to.Until)
		if !until.After(now) {
			return fmt.Errorf("retain-until date %s is not in the future: %w", to.Until, metaerr.ErrInvalid)
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
	return fmt.Errorf("the %s retention of %s/%s until %s cannot be shortened or removed: %w", rec.LockMode, rec.Bucket, rec.Key, rec.LockUntil, metaerr.ErrLocked)
}
