package meta

import (
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

// TestGoldenLifecycleEntries: lifecycle configurations (the optional
// lifecycle field of putBucketConf) and deletes conditional on a version
// (the optional ifVersion field the lifecycle worker sends) in
// testdata/lifecycle_log.golden, after the first four logs.
func TestGoldenLifecycleEntries(t *testing.T) {
	prior := append(append(goldenLog(), goldenConfLog()...), goldenVersionLog()...)
	base := append(prior, goldenLockLog(len(prior))...)
	checkGoldenSet(t, "lifecycle", base, goldenLifecycleLog(len(base)), OpPutBucketConf, OpPutBucketConf)
}

// goldenLifecycleLog follows n entries: the put it makes is at index n+2.
func goldenLifecycleLog(n int) []goldenEntry {
	days, one, newer := 30, 1, 2
	marker := true
	prefix, big := "logs/", int64(1<<20)
	rules := []proto.LifecycleRule{
		{ID: "logs", Status: proto.LifecycleEnabled, Filter: &proto.LifecycleFilter{Prefix: &prefix},
			Expiration:                     &proto.LifecycleExpiration{Days: &days},
			AbortIncompleteMultipartUpload: &proto.AbortIncompleteUpload{DaysAfterInitiation: &one}},
		{ID: "big-tmp", Status: proto.LifecycleDisabled, Filter: &proto.LifecycleFilter{And: &proto.LifecycleAnd{
			Prefix: &prefix, Tags: []proto.Tag{{Key: "tmp", Value: "yes"}}, ObjectSizeGreaterThan: &big}},
			Expiration: &proto.LifecycleExpiration{Date: "2026-01-01T00:00:00Z"}},
		{ID: "old", Status: proto.LifecycleEnabled, Prefix: new(string),
			NoncurrentVersionExpiration: &proto.NoncurrentExpiration{NoncurrentDays: &one, NewerNoncurrentVersions: &newer}},
		{ID: "markers", Status: proto.LifecycleEnabled, Filter: &proto.LifecycleFilter{},
			Expiration: &proto.LifecycleExpiration{ExpiredObjectDeleteMarker: &marker}},
	}
	bad := []proto.LifecycleRule{{ID: "x", Status: proto.LifecycleEnabled, Filter: &proto.LifecycleFilter{}}} // no action
	none := []proto.LifecycleRule{}
	return []goldenEntry{
		v1(OpCreateBucket, CreateBucket{Bucket: proto.Bucket{Name: "bk6", Created: goldenAt}}),
		v1(OpPutObject, PutObject{Object: goldenInline("bk6", "logs/a", "log bytes")}),
		v1(OpPutBucketConf, PutBucketConf{Bucket: "bk6", Lifecycle: &rules}),
		v2(501, OpPutBucketConf, PutBucketConf{Bucket: "bk6", Lifecycle: &bad}), // refused
		v2(502, OpPutBucketConf, PutBucketConf{Bucket: "bk1", Lifecycle: &rules}),
		v1(OpPutBucketConf, PutBucketConf{Bucket: "bk1", Lifecycle: &none}),                      // removed
		v1(OpDeleteObject, DeleteObject{Bucket: "bk6", Key: "logs/a", IfVersion: uint64(n + 1)}), // refused: another version
		v2(503, OpDeleteObject, DeleteObject{Bucket: "bk6", Key: "logs/a", IfVersion: uint64(n + 2)}),
	}
}
