package proto

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// RouteGateways lists the S3 gateways the leader has heard from (GET) and
// takes a gateway's report (POST RouteGateways+"/report", a
// GatewayReport).
const RouteGateways = APIPrefix + "/gateways"

// S3 operation classes: every S3 operation counts in one of them
// (S3ClassOf).
const (
	S3ClassRead   = "read"   // GET and HEAD of objects and bucket settings
	S3ClassWrite  = "write"  // PUT, POST, copies, uploads and their parts
	S3ClassList   = "list"   // listings of buckets, objects, versions, uploads, parts
	S3ClassDelete = "delete" // deletions of objects, buckets, settings; aborted uploads
	S3ClassOther  = "other"  // CORS preflights, refused requests
)

// S3Classes lists the operation classes in display order.
var S3Classes = []string{S3ClassRead, S3ClassWrite, S3ClassList, S3ClassDelete, S3ClassOther}

// S3StatusClasses are the keys of S3Traffic.Requests.
var S3StatusClasses = []string{"2xx", "3xx", "4xx", "5xx"}

// ErrBadReport means a gateway report broke a bound (GatewayReport.Validate).
var ErrBadReport = errors.New("invalid gateway report")

// Limits on gateway reports.
const (
	// MaxGateways bounds the gateways a leader keeps; a report from one
	// more is refused until some expire.
	MaxGateways = 1024
)

// S3Traffic is what one gateway has served of one operation class since
// it started: cumulative counts, which only grow while it runs.
type S3Traffic struct {
	Class string `json:"class"`
	// Requests counts the answered requests by status class (2xx to 5xx).
	Requests map[string]int64 `json:"requests"`
	// BytesIn and BytesOut are request and response body bytes.
	BytesIn  int64 `json:"bytesIn"`
	BytesOut int64 `json:"bytesOut"`
}

// GatewayReport is what an S3 gateway sends the leader every few seconds:
// who it is and its cumulative traffic counters (the numbers its
// Prometheus metrics show).
type GatewayReport struct {
	// ID names the gateway process: it is new at every start, so a
	// restarted gateway's counters are never mistaken for a continuation.
	ID string `json:"id"`
	// Address is the S3 address the gateway listens on.
	Address string `json:"address"`
	// Started is when the gateway process started counting.
	Started time.Time   `json:"started"`
	Traffic []S3Traffic `json:"traffic"`
}

// Validate checks a report's bounds: a known class and status classes,
// each class once, no negative count.
func (r *GatewayReport) Validate() error {
	if err := ValidID("gateway", r.ID); err != nil {
		return err
	}
	if len(r.Address) > MaxAddressLen {
		return fmt.Errorf("gateway %s: address longer than %d bytes: %w", r.ID, MaxAddressLen, ErrBadReport)
	}
	seen := map[string]bool{}
	for _, t := range r.Traffic {
		if !slices.Contains(S3Classes, t.Class) || seen[t.Class] {
			return fmt.Errorf("gateway %s: unknown or repeated class %q: %w", r.ID, truncate(t.Class), ErrBadReport)
		}
		seen[t.Class] = true
		if t.BytesIn < 0 || t.BytesOut < 0 {
			return fmt.Errorf("gateway %s: negative byte count: %w", r.ID, ErrBadReport)
		}
		for k, n := range t.Requests {
			if !slices.Contains(S3StatusClasses, k) || n < 0 {
				return fmt.Errorf("gateway %s: bad request count %q=%d: %w", r.ID, truncate(k), n, ErrBadReport)
			}
		}
	}
	return nil
}

// Gateway is one S3 gateway as the leader knows it: its last report and
// how long ago it came. Gateways silent for longer than the leader's
// expiry are forgotten.
type Gateway struct {
	GatewayReport
	LastReportAgeMs int64 `json:"lastReportAgeMs"`
}

// S3StatusClass maps an HTTP status code to its class ("2xx" … "5xx";
// anything outside 200-599 counts as "5xx").
func S3StatusClass(code int) string {
	switch {
	case code >= 200 && code < 300:
		return "2xx"
	case code >= 300 && code < 400:
		return "3xx"
	case code >= 400 && code < 500:
		return "4xx"
	}
	return "5xx"
}

// BucketUsage is a bucket's contents as the leader last counted them. It
// is computed, never stored: the buckets API adds it to the bucket's
// record.
type BucketUsage struct {
	// Objects counts the current versions that are not delete markers
	// (what a listing shows); Versions every stored version, current and
	// noncurrent, delete markers left out.
	Objects  int64 `json:"objects"`
	Versions int64 `json:"versions"`
	// LogicalBytes is the size of every stored version; StoredBytes the
	// bytes they take under their layout (a replicated extent's bytes
	// times the bucket's replication, a stripe's data bytes times
	// (K+M)/K, inline data once, in the metadata).
	LogicalBytes int64 `json:"logicalBytes"`
	StoredBytes  int64 `json:"storedBytes"`
	// CountedAt is when the count of this bucket finished.
	CountedAt time.Time `json:"countedAt"`
}
