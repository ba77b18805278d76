package convert

import (
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
)

// A bucket's own rule wins; else the cluster's age with the first
// erasure-coded policy of the cluster's target, the bucket's and the
// cluster's data policy; else nothing is converted.
func TestTarget(t *testing.T) {
	c := New(Config{After: time.Hour, DataPolicy: "rs-4-2"})
	cases := []struct {
		name   string
		bucket proto.Bucket
		cfg    Config
		want   string
		age    time.Duration
		ok     bool
	}{
		{"bucket rule", proto.Bucket{Convert: &proto.ConvertRule{Policy: "rs-2-1", AfterSeconds: 60}}, c.cfg, "rs-2-1", time.Minute, true},
		{"bucket rule to replicas", proto.Bucket{Convert: &proto.ConvertRule{Policy: "rep-3", AfterSeconds: 60}}, c.cfg, "", 0, false},
		{"bucket policy", proto.Bucket{DataPolicy: "rs-6-3"}, c.cfg, "rs-6-3", time.Hour, true},
		{"cluster target first", proto.Bucket{DataPolicy: "rs-6-3"}, Config{After: time.Hour, Policy: "rs-3-2"}, "rs-3-2", time.Hour, true},
		{"cluster policy", proto.Bucket{}, c.cfg, "rs-4-2", time.Hour, true},
		{"off", proto.Bucket{DataPolicy: "rs-6-3"}, Config{DataPolicy: "rs-4-2"}, "", 0, false},
	}
	for _, tc := range cases {
		p, age, ok := New(tc.cfg).target(&tc.bucket)
		if ok != tc.ok || ok && (p.String() != tc.want || age != tc.age) {
			t.Errorf("%s: %s after %v ok=%v, want %s after %v ok=%v", tc.name, p, age, ok, tc.want, tc.age, tc.ok)
		}
	}
}

// The rate is the bytes finished in the last minute over the span of
// their finishing times, the first object's bytes left out.
func TestRate(t *testing.T) {
	var r convRate
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := r.perSecond(t0); got != 0 {
		t.Fatalf("empty: %d", got)
	}
	r.add(t0, 1000)
	if got := r.perSecond(t0.Add(500 * time.Millisecond)); got != 1000 {
		t.Errorf("one object: %d B/s, want 1000 (at least a second)", got)
	}
	r.add(t0.Add(2*time.Second), 4000)
	r.add(t0.Add(4*time.Second), 4000)
	if got := r.perSecond(t0.Add(4 * time.Second)); got != 2000 {
		t.Errorf("three objects: %d B/s, want 8000 B over 4 s", got)
	}
	if got := r.perSecond(t0.Add(2 * time.Minute)); got != 0 {
		t.Errorf("a minute later: %d B/s, want 0", got)
	}
}
