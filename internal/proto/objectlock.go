package proto

import (
	"fmt"
	"time"
)

// Object lock retention modes and legal hold states, spelled as S3 does.
const (
	LockGovernance = "GOVERNANCE"
	LockCompliance = "COMPLIANCE"
	LegalHoldOn    = "ON"
	LegalHoldOff   = "OFF"
)

// CodeLocked is the code of a change an object lock forbids (S3's
// AccessDenied): removing a locked version, or shortening a retention.
const CodeLocked Code = "ObjectLocked"

// RouteObjectLock is POSTed a LockRequest.
const RouteObjectLock = APIPrefix + "/objects/lock"

// LockRule is a bucket's default retention: new versions are retained
// Days or Years (one of them) from their creation, in Mode.
type LockRule struct {
	Mode  string `json:"mode"`
	Days  int    `json:"days,omitempty"`
	Years int    `json:"years,omitempty"`
}

// ValidLockRule checks a default retention as S3 does.
func ValidLockRule(r LockRule) error {
	switch {
	case r.Mode != LockGovernance && r.Mode != LockCompliance:
		return fmt.Errorf("retention mode %q is not GOVERNANCE or COMPLIANCE: %w", truncate(r.Mode), ErrInvalidName)
	case (r.Days > 0) == (r.Years > 0) || r.Days < 0 || r.Years < 0 || r.Days > 36500 || r.Years > 100:
		return fmt.Errorf("a default retention needs a positive Days or Years, not both: %w", ErrInvalidName)
	}
	return nil
}

// Until is the end of the retention r gives a version made at t.
func (r LockRule) Until(t time.Time) time.Time {
	if r.Years > 0 {
		return t.AddDate(r.Years, 0, 0)
	}
	return t.AddDate(0, 0, r.Days)
}

// LockRequest changes one version's retention and legal hold (nil parts
// are left as they are). Mode "" with Retain set removes the retention
// (a GOVERNANCE one, with Bypass).
type LockRequest struct {
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	VersionID string `json:"versionId,omitempty"`
	// Retain, when set, replaces the retention: Mode and Until (RFC 3339).
	Retain *Retention `json:"retain,omitempty"`
	// LegalHold, when set, is LegalHoldOn or LegalHoldOff.
	LegalHold string `json:"legalHold,omitempty"`
	// Bypass is x-amz-bypass-governance-retention.
	Bypass bool `json:"bypass,omitempty"`
}

// Retention is a version's retention: Mode until Until (RFC 3339).
type Retention struct {
	Mode  string `json:"mode,omitempty"`
	Until string `json:"until,omitempty"`
}

// LockedAt reports whether o may not be removed at now: a legal hold, a
// COMPLIANCE retention not over, or a GOVERNANCE one not over and not
// bypassed.
func (o *Object) LockedAt(now time.Time, bypass bool) bool {
	if o.LegalHold == LegalHoldOn {
		return true
	}
	if o.LockMode == "" {
		return false
	}
	until, err := time.Parse(time.RFC3339Nano, o.LockUntil)
	if err != nil || !now.Before(until) {
		return false
	}
	return o.LockMode == LockCompliance || !bypass
}
