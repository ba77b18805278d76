package bench

import (
	"errors"
	"testing"
	"time"
)

func TestPercentiles(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {90, 90 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := Percentile(d, tc.p); got != tc.want {
			t.Errorf("p%v = %v, want %v", tc.p, got, tc.want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("empty percentile")
	}
	if got := Percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("single value p99 = %v", got)
	}
}

func TestSummaryRatesAndErrors(t *testing.T) {
	var r Recorder
	for i := range 10 {
		r.Observe(time.Duration(i+1)*time.Millisecond, 1<<20, nil)
	}
	r.Observe(time.Second, 0, errors.New("boom"))
	r.Observe(time.Second, 0, errors.New("boom"))
	s := r.Summarize(2 * time.Second)
	if s.Ops != 10 || s.Errors != 2 || s.ErrorKinds["boom"] != 2 {
		t.Fatalf("counts: %+v", s)
	}
	if s.OpsPerSec != 5 || s.MiBPerSec != 5 || s.P50Ms != 5 || s.P99Ms != 10 || s.MaxMs != 10 {
		t.Fatalf("rates: %+v", s)
	}
}
