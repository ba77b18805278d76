package web

import (
	"time"

	"github.com/granary-store/granary/client"
)

const (
	trafficWindow = 30 * time.Second // S3 rates are measured over this much of each gateway's reports
	// staleReport is how old a gateway's last report may be before its
	// rate is no longer shown as current.
	staleReport = 20 * time.Second
)

// s3Classes are the operation classes, in display order (the
// proto.S3Classes of the client's wire types).
var s3Classes = []string{"read", "write", "list", "delete", "other"}

// s3Counts are cumulative S3 counters, summed over operation classes
// where they are not by class.
type s3Counts struct {
	Requests [5]int64 // by class, s3Classes order
	Err4xx   int64
	Err5xx   int64
	In, Out  int64
}

func countsOf(g client.Gateway) s3Counts {
	var c s3Counts
	for _, t := range g.Traffic {
		i := classIndex(t.Class)
		for status, n := range t.Requests {
			c.Requests[i] += n
			switch status {
			case "4xx":
				c.Err4xx += n
			case "5xx":
				c.Err5xx += n
			}
		}
		c.In += t.BytesIn
		c.Out += t.BytesOut
	}
	return c
}

func classIndex(class string) int {
	for i, c := range s3Classes {
		if c == class {
			return i
		}
	}
	return len(s3Classes) - 1 // other
}

func (c s3Counts) total() int64 {
	var n int64
	for _, r := range c.Requests {
		n += r
	}
	return n
}

// reportPoint is one gateway report: its counters, and when the gateway
// sent it (the snapshot's time less the report's age).
type reportPoint struct {
	At time.Time
	C  s3Counts
}

// s3Rates are per-second rates over the traffic window.
type s3Rates struct {
	Known    bool // some gateway has two reports in the window
	Requests [5]float64
	Total    float64
	Err4xx   float64
	Err5xx   float64
	In, Out  float64
}

// gatewayRow is one gateway as the dashboard shows it.
type gatewayRow struct {
	client.Gateway
	Totals s3Counts
	Rates  s3Rates
	Age    string
	Stale  bool
}

// traffic turns the gateways' successive reports into rates. Each
// gateway's counters are cumulative since it started (its id is new at
// every start), so a rate is the difference of two of its reports over
// the time between them (or, for a gateway that started within the
// window, of its report and its start); a gateway that restarted is a new
// series. Not
// safe for concurrent use: the tracker calls it with its lock held.
type traffic struct {
	series map[string][]reportPoint // by gateway id, oldest first, within the window
}

// observe adds the reports of a snapshot taken at now.
func (tr *traffic) observe(now time.Time, gws []client.Gateway) {
	if tr.series == nil {
		tr.series = map[string][]reportPoint{}
	}
	seen := make(map[string]bool, len(gws))
	for _, g := range gws {
		seen[g.ID] = true
		p := reportPoint{At: now.Add(-time.Duration(g.LastReportAgeMs) * time.Millisecond), C: countsOf(g)}
		pts := tr.series[g.ID]
		// A gateway's counters were zero when it started: a recent start
		// is the series' first point, so a new gateway's first report
		// already gives a rate.
		if len(pts) == 0 && !g.Started.IsZero() && p.At.Sub(g.Started) >= 500*time.Millisecond && now.Sub(g.Started) <= trafficWindow {
			pts = append(pts, reportPoint{At: g.Started})
		}
		// The same report read again: its time is only estimated.
		if n := len(pts); n > 0 && (p.At.Sub(pts[n-1].At) < 500*time.Millisecond || p.C == pts[n-1].C && p.At.Sub(pts[n-1].At) < time.Second) {
			continue
		}
		pts = append(pts, p)
		for len(pts) > 2 && p.At.Sub(pts[0].At) > trafficWindow {
			pts = pts[1:]
		}
		tr.series[g.ID] = pts
	}
	for id := range tr.series {
		if !seen[id] {
			delete(tr.series, id)
		}
	}
}

// rates returns each gateway's rates, and their sum, at now.
func (tr *traffic) rates(now time.Time, gws []client.Gateway) ([]gatewayRow, s3Rates) {
	rows := make([]gatewayRow, 0, len(gws))
	var sum s3Rates
	for _, g := range gws {
		age := time.Duration(g.LastReportAgeMs) * time.Millisecond
		row := gatewayRow{Gateway: g, Totals: countsOf(g), Age: age.Round(100 * time.Millisecond).String(), Stale: age > staleReport}
		if pts := tr.series[g.ID]; len(pts) >= 2 && !row.Stale {
			row.Rates = rateBetween(pts[0], pts[len(pts)-1])
		}
		if row.Rates.Known {
			sum.add(row.Rates)
		}
		rows = append(rows, row)
	}
	return rows, sum
}

func rateBetween(a, b reportPoint) s3Rates {
	secs := b.At.Sub(a.At).Seconds()
	if secs <= 0 {
		return s3Rates{}
	}
	per := func(x, y int64) float64 { return float64(max(y-x, 0)) / secs }
	r := s3Rates{Known: true, Err4xx: per(a.C.Err4xx, b.C.Err4xx), Err5xx: per(a.C.Err5xx, b.C.Err5xx),
		In: per(a.C.In, b.C.In), Out: per(a.C.Out, b.C.Out)}
	for i := range r.Requests {
		r.Requests[i] = per(a.C.Requests[i], b.C.Requests[i])
		r.Total += r.Requests[i]
	}
	return r
}

func (r *s3Rates) add(o s3Rates) {
	r.Known = true
	for i := range r.Requests {
		r.Requests[i] += o.Requests[i]
	}
	r.Total += o.Total
	r.Err4xx += o.Err4xx
	r.Err5xx += o.Err5xx
	r.In += o.In
	r.Out += o.Out
}

// gatewayEvents notes the gateways that started or stopped reporting.
func gatewayEvents(prev, next []client.Gateway, add func(level, format string, a ...any)) {
	was := make(map[string]bool, len(prev))
	for _, g := range prev {
		was[g.ID] = true
	}
	is := make(map[string]bool, len(next))
	for _, g := range next {
		is[g.ID] = true
		if !was[g.ID] {
			add("ok", "S3 gateway %s (%s) reporting", g.Address, g.ID)
		}
	}
	for _, g := range prev {
		if !is[g.ID] {
			add("warn", "S3 gateway %s (%s) stopped reporting", g.Address, g.ID)
		}
	}
}
