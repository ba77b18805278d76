package meta

import (
	"errors"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// TestObjectLockRules: a retained or held version cannot be removed by id
// (a marker can still hide it), GOVERNANCE yields to a bypass and
// COMPLIANCE to nothing, retention only grows under COMPLIANCE, and it all
// ends when the date passes.
func TestObjectLockRules(t *testing.T) {
	tf := newTestFSM(t)
	now := goldenAt
	day := func(n int) string { return now.AddDate(0, 0, n).Format(time.RFC3339) }
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "lockb", Created: now, ObjectLock: true, Versioning: proto.VersioningEnabled}})
	put := func(key string, h proto.ObjectHeaders) string {
		o := goldenInline("lockb", key, "x")
		o.ObjectHeaders = h
		return tf.mustApply(OpPutObject, PutObject{Object: o}).(CommitResult).VersionID
	}
	remove := func(key, vid string, at time.Time, bypass bool) error {
		_, err := tf.apply(OpDeleteObject, DeleteObject{Bucket: "lockb", Key: key, VersionID: vid, At: &at, BypassGovernance: bypass})
		return err
	}
	setLock := func(req proto.LockRequest, at time.Time) error {
		req.Bucket = "lockb"
		_, err := tf.apply(OpSetLock, SetLock{Req: req, At: at})
		return err
	}

	gov := put("gov", proto.ObjectHeaders{LockMode: proto.LockGovernance, LockUntil: day(10)})
	if err := remove("gov", gov, now, false); !errors.Is(err, ErrLocked) {
		t.Fatalf("remove under GOVERNANCE: %v", err)
	}
	// A delete without a version id only adds a marker.
	if _, err := tf.apply(OpDeleteObject, DeleteObject{Bucket: "lockb", Key: "gov", At: &now}); err != nil {
		t.Fatalf("a marker over a locked version: %v", err)
	}
	// Shortening GOVERNANCE needs the bypass; extending does not.
	if err := setLock(proto.LockRequest{Key: "gov", VersionID: gov, Retain: &proto.Retention{Mode: proto.LockGovernance, Until: day(5)}}, now); !errors.Is(err, ErrLocked) {
		t.Fatalf("shorten GOVERNANCE: %v", err)
	}
	if err := setLock(proto.LockRequest{Key: "gov", VersionID: gov, Retain: &proto.Retention{Mode: proto.LockGovernance, Until: day(20)}}, now); err != nil {
		t.Fatalf("extend GOVERNANCE: %v", err)
	}
	if err := remove("gov", gov, now, true); err != nil {
		t.Fatalf("remove with the bypass: %v", err)
	}

	comp := put("comp", proto.ObjectHeaders{LockMode: proto.LockCompliance, LockUntil: day(10)})
	for name, ret := range map[string]*proto.Retention{
		"shorten":        {Mode: proto.LockCompliance, Until: day(5)},
		"to GOVERNANCE":  {Mode: proto.LockGovernance, Until: day(30)},
		"remove":         {},
		"in the past":    {Mode: proto.LockCompliance, Until: day(-1)},
		"malformed date": {Mode: proto.LockCompliance, Until: "tomorrow"},
	} {
		if err := setLock(proto.LockRequest{Key: "comp", Retain: ret, Bypass: true}, now); err == nil {
			t.Errorf("COMPLIANCE %s: accepted", name)
		}
	}
	if err := remove("comp", comp, now, true); !errors.Is(err, ErrLocked) {
		t.Fatalf("remove under COMPLIANCE with the bypass: %v", err)
	}
	if err := setLock(proto.LockRequest{Key: "comp", Retain: &proto.Retention{Mode: proto.LockCompliance, Until: day(11)}}, now); err != nil {
		t.Fatalf("extend COMPLIANCE: %v", err)
	}
	if err := remove("comp", comp, now.AddDate(0, 0, 12), false); err != nil {
		t.Fatalf("remove after the date: %v", err)
	}

	// A legal hold stops removal until it is off, whatever the retention.
	held := put("held", proto.ObjectHeaders{LegalHold: proto.LegalHoldOn})
	if err := remove("held", held, now.AddDate(5, 0, 0), true); !errors.Is(err, ErrLocked) {
		t.Fatalf("remove under a legal hold: %v", err)
	}
	if err := setLock(proto.LockRequest{Key: "held", LegalHold: proto.LegalHoldOff}, now); err != nil {
		t.Fatal(err)
	}
	if err := remove("held", held, now, false); err != nil {
		t.Fatalf("remove after the hold: %v", err)
	}

	// The bucket's default retention applies to versions that ask none.
	tf.mustApply(OpPutBucketConf, PutBucketConf{Bucket: "lockb", Lock: &proto.LockConfig{Rule: &proto.LockRule{Mode: proto.LockCompliance, Years: 1}}})
	put("dflt", proto.ObjectHeaders{})
	if o, err := tf.f.Object("lockb", "dflt"); err != nil || o.LockMode != proto.LockCompliance || o.LockUntil != now.AddDate(1, 0, 0).Format(time.RFC3339) {
		t.Fatalf("default retention: %+v %v", o, err)
	}
	// Versioning stays Enabled; an unlocked bucket takes no lock.
	if _, err := tf.apply(OpSetVersioning, SetVersioning{Bucket: "lockb", Status: proto.VersioningSuspended}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("suspend a locked bucket: %v", err)
	}
	tf.mustApply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "plainb", Created: now}})
	o := goldenInline("plainb", "k", "x")
	o.LegalHold = proto.LegalHoldOn
	if _, err := tf.apply(OpPutObject, PutObject{Object: o}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a lock in a bucket without object lock: %v", err)
	}
	if _, err := tf.apply(OpPutBucketConf, PutBucketConf{Bucket: "plainb", Lock: &proto.LockConfig{}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("object lock on an unversioned bucket: %v", err)
	}
	if _, err := tf.apply(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "badlock", Created: now, ObjectLock: true}}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("object lock without versioning at creation: %v", err)
	}
}
