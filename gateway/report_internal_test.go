package gateway

import (
	"fmt"
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

// Every operation of the dispatch table falls in one class; the report
// sums the Prometheus counters by class and status class.
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
	m := newMetrics()
	m.requests.WithLabelValues("GetObject", "200").Add(3)
	m.requests.WithLabelValues("HeadObject", "404").Add(2)
	m.requests.WithLabelValues("PutObject", "200").Add(5)
	m.requests.WithLabelValues("PutObject", "503").Add(1)
	m.requests.WithLabelValues("refused", "403").Add(4)
	m.in.WithLabelValues("PutObject").Add(1000)
	m.out.WithLabelValues("GetObject").Add(300)
	m.out.WithLabelValues("HeadObject").Add(0)
	got, err := m.traffic()
	if err != nil {
		t.Fatal(err)
	}
	want := []proto.S3Traffic{
		{Class: "read", Requests: map[string]int64{"2xx": 3, "4xx": 2}, BytesOut: 300},
		{Class: "write", Requests: map[string]int64{"2xx": 5, "5xx": 1}, BytesIn: 1000},
		{Class: "other", Requests: map[string]int64{"4xx": 4}},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("traffic:\n got %v\nwant %v", got, want)
	}
	rep := proto.GatewayReport{ID: "gw-x", Traffic: got}
	if err := rep.Validate(); err != nil {
		t.Errorf("the report does not validate: %v", err)
	}
}
