// Package bench is Granary's load generator: the same workloads against
// any S3 endpoint (through minio-go) or through the Go client library, and
// the machine's own ceilings (disk, loopback TCP, hashing) measured in the
// same run, so results can be read as ratios.
package bench

import (
	"math"
	"slices"
	"sync"
	"time"
)

// Recorder collects operation latencies and errors. Safe for concurrent
// use.
type Recorder struct {
	mu    sync.Mutex
	lat   []time.Duration
	bytes int64
	items int64
	errs  map[string]int
}

// ObserveItems records a listing that returned n items.
func (r *Recorder) ObserveItems(d time.Duration, n int64, err error) {
	r.Observe(d, 0, err)
	if err == nil {
		r.mu.Lock()
		r.items += n
		r.mu.Unlock()
	}
}

// Observe records one finished operation that moved n bytes.
func (r *Recorder) Observe(d time.Duration, n int64, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if r.errs == nil {
			r.errs = map[string]int{}
		}
		r.errs[errClass(err)]++
		return
	}
	r.lat = append(r.lat, d)
	r.bytes += n
}

// Counts returns successful operations, bytes and errors so far.
func (r *Recorder) Counts() (ops int, bytes int64, errs int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.errs {
		errs += n
	}
	return len(r.lat), r.bytes, errs
}

// Summary is the statistics of a run.
type Summary struct {
	Ops         int            `json:"ops"`
	Errors      int            `json:"errors"`
	ErrorKinds  map[string]int `json:"errorKinds,omitempty"`
	Bytes       int64          `json:"bytes"`
	Seconds     float64        `json:"seconds"`
	OpsPerSec   float64        `json:"opsPerSec"`
	MiBPerSec   float64        `json:"mibPerSec"`
	Items       int64          `json:"items,omitempty"`
	ItemsPerSec float64        `json:"itemsPerSec,omitempty"`
	P50Ms       float64        `json:"p50Ms"`
	P90Ms       float64        `json:"p90Ms"`
	P99Ms       float64        `json:"p99Ms"`
	MaxMs       float64        `json:"maxMs"`
}

// Summarize computes rates over elapsed and latency percentiles.
func (r *Recorder) Summarize(elapsed time.Duration) Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	lat := slices.Clone(r.lat)
	slices.Sort(lat)
	s := Summary{Ops: len(lat), Bytes: r.bytes, Items: r.items, Seconds: elapsed.Seconds()}
	for k, n := range r.errs {
		s.Errors += n
		if s.ErrorKinds == nil {
			s.ErrorKinds = map[string]int{}
		}
		s.ErrorKinds[k] = n
	}
	if elapsed > 0 {
		s.OpsPerSec = float64(s.Ops) / elapsed.Seconds()
		s.MiBPerSec = float64(s.Bytes) / (1 << 20) / elapsed.Seconds()
		s.ItemsPerSec = float64(s.Items) / elapsed.Seconds()
	}
	s.P50Ms, s.P90Ms, s.P99Ms = ms(Percentile(lat, 50)), ms(Percentile(lat, 90)), ms(Percentile(lat, 99))
	if len(lat) > 0 {
		s.MaxMs = ms(lat[len(lat)-1])
	}
	return s
}

// Percentile returns the p-th percentile (nearest rank) of sorted values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }

// errClass names an error for counting without unbounded cardinality.
func errClass(err error) string {
	msg := err.Error()
	if len(msg) > 60 {
		msg = msg[:60]
	}
	return msg
}
