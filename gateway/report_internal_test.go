package gateway

import (
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

// Every operation of the dispatch table falls in one class (the reports
// to the leader sum the counters by class: s3metrics).
func TestTrafficByClass(t *testing.T) {
	for op, want := range map[string]string{
		"GetObject": proto.S3ClassRead, "HeadBucket": proto.S3ClassRead, "GetBucketPolicy": proto.S3ClassRead,
		"ListObjects": proto.S3ClassList, "ListBuckets": proto.S3ClassList, "ListParts": proto.S3ClassList,
		"PutObject": proto.S3ClassWrite, "PostObject": proto.S3ClassWrite, "CompleteMultipartUpload": proto.S3ClassWrite, "CreateBucket": proto.S3ClassWrite,
		"DeleteObject": proto.S3ClassDelete, "DeleteObjects": proto.S3ClassDelete, "AbortMultipartUpload": proto.S3ClassDelete, "DeleteBucketCors": proto.S3ClassDelete,
		"Preflight": proto.S3ClassOther, "refused": proto.S3ClassOther,
	} {
		if got := s3Class(op); got != want {
			t.Errorf("%s: class %s, want %s", op, got, want)
		}
	}
	for _, o := range ops {
		if _, ok := opClasses[o.name]; !ok {
			t.Errorf("operation %s has no class", o.name)
		}
	}
}
