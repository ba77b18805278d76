package s3metrics

import (
	"fmt"
	"testing"

	"github.com/granary-store/granary/internal/proto"
)

// A report sums the Prometheus counters by operation class and status
// class.
func TestTrafficByClass(t *testing.T) {
	classOf := func(op string) string {
		return map[string]string{"GetObject": proto.S3ClassRead, "HeadObject": proto.S3ClassRead, "PutObject": proto.S3ClassWrite}[op] + map[bool]string{true: proto.S3ClassOther}[op == "refused"]
	}
	m := New()
	m.requests.WithLabelValues("GetObject", "200").Add(3)
	m.requests.WithLabelValues("HeadObject", "404").Add(2)
	m.requests.WithLabelValues("PutObject", "200").Add(5)
	m.requests.WithLabelValues("PutObject", "503").Add(1)
	m.requests.WithLabelValues("refused", "403").Add(4)
	m.in.WithLabelValues("PutObject").Add(1000)
	m.out.WithLabelValues("GetObject").Add(300)
	m.out.WithLabelValues("HeadObject").Add(0)
	got, err := m.Traffic(classOf)
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
