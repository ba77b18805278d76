package precond

import (
	"errors"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/master/meta/metaerr"
)

func TestConditions(t *testing.T) {
	old := &proto.Object{Key: "k", Version: 7, ETag: `"abc"`, Size: 3, Modified: time.Unix(100, 0)}
	size, other := int64(3), int64(4)
	mod, late := time.Unix(100, 500), time.Unix(101, 0)
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"no version asked", Version(old, 0), nil},
		{"at version", Version(old, 7), nil},
		{"not at version", Version(old, 8), metaerr.ErrPrecondition},
		{"absent, version asked", Version(nil, 7), metaerr.ErrPrecondition},
		{"must not exist, exists", Version(old, proto.MustNotExist), metaerr.ErrPrecondition},
		{"must not exist, absent", Version(nil, proto.MustNotExist), nil},
		{"etag without quotes", ETag(old, "abc"), nil},
		{"etag differs", ETag(old, "abd"), metaerr.ErrPrecondition},
		{"etag on absent", ETag(nil, "abc"), metaerr.ErrNoSuchKey},
		{"delete, all match", Delete(old, `"abc"`, 7, &size, &mod), nil},
		{"delete, size differs", Delete(old, "", 0, &other, nil), metaerr.ErrPrecondition},
		{"delete, time differs", Delete(old, "", 0, nil, &late), metaerr.ErrPrecondition},
		{"delete, version differs", Delete(old, "", 6, nil, nil), metaerr.ErrPrecondition},
	} {
		if !errors.Is(c.err, c.want) || (c.want == nil) != (c.err == nil) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
}

func TestLockRules(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	until := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	locked := func(mode string) *proto.Object {
		o := &proto.Object{Bucket: "b", Key: "k"}
		o.LockMode, o.LockUntil = mode, until(time.Hour)
		return o
	}
	held := func(h string) *proto.Object {
		o := &proto.Object{}
		o.LegalHold = h
		return o
	}
	gov, comp := locked(proto.LockGovernance), locked(proto.LockCompliance)
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"extend compliance", Retention(comp, &proto.Retention{Mode: proto.LockCompliance, Until: until(2 * time.Hour)}, false, now), nil},
		{"shorten compliance", Retention(comp, &proto.Retention{Mode: proto.LockCompliance, Until: until(time.Minute)}, true, now), metaerr.ErrLocked},
		{"weaken compliance", Retention(comp, &proto.Retention{Mode: proto.LockGovernance, Until: until(2 * time.Hour)}, true, now), metaerr.ErrLocked},
		{"remove governance", Retention(gov, &proto.Retention{}, false, now), metaerr.ErrLocked},
		{"remove governance, bypass", Retention(gov, &proto.Retention{}, true, now), nil},
		{"expired compliance", Retention(comp, &proto.Retention{}, false, now.Add(2*time.Hour)), nil},
		{"date in the past", Retention(&proto.Object{}, &proto.Retention{Mode: proto.LockGovernance, Until: until(-time.Hour)}, false, now), metaerr.ErrInvalid},
		{"removal under governance", Unlocked(gov, &now, false), metaerr.ErrLocked},
		{"removal under governance, bypass", Unlocked(gov, &now, true), nil},
		{"removal under compliance, bypass", Unlocked(comp, &now, true), metaerr.ErrLocked},
		{"lock asked, bucket has none", LockDefaults(&proto.Bucket{Name: "b"}, held(proto.LegalHoldOn)), metaerr.ErrInvalid},
		{"bad legal hold", LockDefaults(&proto.Bucket{Name: "b", ObjectLock: true}, held("maybe")), metaerr.ErrInvalid},
	} {
		if !errors.Is(c.err, c.want) || (c.want == nil) != (c.err == nil) {
			t.Errorf("%s: %v, want %v", c.name, c.err, c.want)
		}
	}
}

// TestLockDefaults: a version that asks for no retention gets the
// bucket's default, counted from its modification time.
func TestLockDefaults(t *testing.T) {
	b := &proto.Bucket{Name: "b", ObjectLock: true, LockRule: &proto.LockRule{Mode: proto.LockGovernance, Days: 1}}
	obj := &proto.Object{Modified: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	if err := LockDefaults(b, obj); err != nil {
		t.Fatal(err)
	}
	if obj.LockMode != proto.LockGovernance || obj.LockUntil != "2026-01-02T12:00:00Z" {
		t.Errorf("default retention %s until %s", obj.LockMode, obj.LockUntil)
	}
}
