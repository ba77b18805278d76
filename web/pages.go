package web

import (
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/granary-store/granary/client"
)

// show renders a page of the dashboard from the shared view.
func (h *Handler) show(w http.ResponseWriter, r *http.Request, ss *session, status int, tmpl, title, errMsg string, data func(view) any) {
	v := h.track.get(r.Context())
	p := page{Title: title, Error: errMsg, V: v, Verdict: judge(v)}
	if !isFragment(r) {
		p.Flash = ss.takeFlash()
	}
	p.Data = data(v)
	h.render(w, r, ss, status, tmpl, p)
}

type overviewData struct {
	Servers        serverCounts
	Used, Capacity int64
	Chunks         client.ChunkCounts
	Repair         client.RepairStats
	Rate           string
	ETA            string
	Chart          template.HTML
	CapacityBar    template.HTML
	RedundancyBar  template.HTML
	FullMargin     int
	Reduced        int // under-replicated with two or more replicas left
	Buckets, Users int
	Recent         []event
	S3             s3Summary
}

// s3Summary is the overview's S3 traffic card.
type s3Summary struct {
	Gateways, Stale int
	Known           bool
	Requests        string // requests per second, in all
	ByClass         []classRate
	Errors          string // 4xx and 5xx per second
	In, Out         string // bytes per second
}

type classRate struct {
	Class string
	Rate  string
}

func summarizeS3(v view) s3Summary {
	s := s3Summary{Gateways: len(v.Gateways), Known: v.S3.Known}
	for _, g := range v.Gateways {
		if g.Stale {
			s.Stale++
		}
	}
	if !s.Known {
		return s
	}
	r := v.S3
	s.Requests = perSecond(r.Total)
	for i, c := range s3Classes {
		if r.Requests[i] > 0 {
			s.ByClass = append(s.ByClass, classRate{Class: c, Rate: perSecond(r.Requests[i])})
		}
	}
	s.Errors = perSecond(r.Err4xx) + " 4xx, " + perSecond(r.Err5xx) + " 5xx"
	s.In, s.Out = humanBytes(int64(r.In))+"/s", humanBytes(int64(r.Out))+"/s"
	return s
}

// perSecond formats a rate with the precision it deserves.
func perSecond(x float64) string {
	switch {
	case x == 0:
		return "0/s"
	case x < 10:
		return fmt.Sprintf("%.1f/s", x)
	}
	return fmt.Sprintf("%.0f/s", x)
}

func (h *Handler) getOverview(w http.ResponseWriter, r *http.Request, ss *session) {
	h.show(w, r, ss, http.StatusOK, "overview", "Overview", "", func(v view) any {
		d := overviewData{Servers: countServers(v), Chunks: v.Status.Chunks, Repair: v.Status.Repair, Buckets: len(v.Buckets), Users: len(v.Users)}
		for _, cs := range v.Status.ChunkServers {
			if cs.State == "alive" || cs.State == "draining" {
				d.Used += cs.UsedBytes
				d.Capacity += cs.CapacityBytes
			}
		}
		d.Rate, d.ETA = rateAndETA(v)
		d.Chart = repairChart(v.History)
		d.CapacityBar = bar(d.Used, d.Capacity, 320, 14)
		d.RedundancyBar = redundancyBar(d.Chunks, 320, 14)
		d.FullMargin = max(d.Chunks.Total-d.Chunks.UnderReplicated-d.Chunks.Degraded-d.Chunks.Missing, 0)
		d.Reduced = max(d.Chunks.UnderReplicated-d.Chunks.LastCopy, 0) + d.Chunks.Degraded
		d.Recent = v.Events[:min(len(v.Events), 5)]
		d.S3 = summarizeS3(v)
		return d
	})
}

// rateAndETA describes the repair rate (copies finished per second over
// the last minute of history, with the bytes per second it means at the
// average replica size) and when the under-replicated chunks will be
// done at that rate.
//
// Masters that measure repair in bytes (RepairStats.BytesPerSecond, the
// copies' bytes over the last 10 s, and ETASeconds for the queued and
// running copies) are taken at their word instead.
func rateAndETA(v view) (string, string) {
	under := v.Status.Chunks.UnderReplicated
	rate, window, ok := repairRate(v.History)
	if r := v.Status.Repair; r.BytesPerSecond > 0 {
		desc := humanBytes(r.BytesPerSecond) + "/s"
		if ok && rate > 0 {
			desc += fmt.Sprintf(" (%.1f copies/s)", rate)
		}
		switch {
		case under == 0 && r.QueuedBytes+r.InflightBytes == 0:
			return desc, "nothing to repair"
		case r.ETASeconds > 0:
			return desc, "about " + (time.Duration(r.ETASeconds) * time.Second).String()
		}
		return desc, "measuring…"
	}
	switch {
	case !ok || rate < 0:
		if under == 0 {
			return "idle", "—"
		}
		return "measuring…", "measuring…"
	case rate == 0 && under == 0:
		return "idle", "nothing to repair"
	case rate == 0:
		return "0 copies/s", fmt.Sprintf("stalled: no copy finished in the last %s", window.Round(time.Second))
	}
	desc := fmt.Sprintf("%.1f copies/s", rate)
	if avg := avgReplica(v.Status.ChunkServers); avg > 0 {
		desc += fmt.Sprintf(" (≈ %s/s)", humanBytes(int64(rate*float64(avg))))
	}
	if under == 0 {
		return desc, "nothing to repair"
	}
	eta := time.Duration(float64(under) / rate * float64(time.Second)).Round(time.Second)
	return desc, "about " + eta.String()
}

// avgReplica is the average size of a replica on the live servers.
func avgReplica(servers []client.ChunkServer) int64 {
	var used, chunks int64
	for _, cs := range servers {
		if cs.State == "alive" || cs.State == "draining" {
			used += cs.UsedBytes
			chunks += int64(cs.Chunks)
		}
	}
	if chunks == 0 {
		return 0
	}
	return used / chunks
}

type memberRow struct {
	client.Member
	Applied uint64
	Lag     string
	Err     string
}

type mastersData struct {
	Rows                            []memberRow
	Leader                          client.NodeID
	Term, CommitIndex, AppliedIndex uint64
	LeaderChange                    time.Time
}

func (h *Handler) getMasters(w http.ResponseWriter, r *http.Request, ss *session) {
	h.show(w, r, ss, http.StatusOK, "masters", "Masters", "", func(v view) any {
		st := v.Status
		d := mastersData{Leader: st.Leader, Term: st.Term, CommitIndex: st.CommitIndex, AppliedIndex: st.AppliedIndex, LeaderChange: v.LeaderChange}
		for _, m := range st.Members {
			row := memberRow{Member: m}
			if mh, ok := v.Health[m.ID]; ok {
				row.Applied, row.Err = mh.Applied, mh.Err
				if mh.Err == "" {
					row.Lag = strconv.FormatInt(int64(st.CommitIndex)-int64(mh.Applied), 10)
				}
			}
			d.Rows = append(d.Rows, row)
		}
		return d
	})
}

type serverRow struct {
	client.ChunkServer
	Bar       template.HTML
	Heartbeat string
	Scrub     string // progress of the pass, and when the last one ended
}

// scrubState describes a server's scrubber: how far through its pass, and
// when it last finished one.
func scrubState(cs client.ChunkServer, now time.Time) string {
	pass := fmt.Sprintf("%.0f%% of this pass", 100*cs.ScrubProgress)
	if cs.ScrubProgress >= 1 {
		pass = "idle"
	}
	if cs.LastFullScrub.IsZero() {
		return pass + "; no full pass yet"
	}
	return pass + "; last full pass " + now.Sub(cs.LastFullScrub).Round(time.Second).String() + " ago"
}

type serversData struct {
	Rows  []serverRow
	Pager pager
}

// stateOrder puts the servers that need attention first.
var stateOrder = map[string]int{"dead": 0, "draining": 1, "alive": 2, "decommissioned": 3}

func (h *Handler) getServers(w http.ResponseWriter, r *http.Request, ss *session) {
	h.show(w, r, ss, http.StatusOK, "servers", "Chunk servers", "", func(v view) any {
		all := slices.Clone(v.Status.ChunkServers)
		slices.SortFunc(all, func(a, b client.ChunkServer) int {
			return cmp.Or(cmp.Compare(stateRank(a.State), stateRank(b.State)), strings.Compare(string(a.ID), string(b.ID)))
		})
		var d serversData
		lo, hi := 0, 0
		d.Pager, lo, hi = paginate(r, len(all), h.cfg.PageSize)
		for _, cs := range all[lo:hi] {
			d.Rows = append(d.Rows, serverRow{ChunkServer: cs, Bar: bar(cs.UsedBytes, cs.CapacityBytes, 120, 10), Heartbeat: heartbeatAge(cs.LastHeartbeatAgeMs),
				Scrub: scrubState(cs, v.At)})
		}
		return d
	})
}

func stateRank(s string) int {
	if n, ok := stateOrder[s]; ok {
		return n
	}
	return -1 // unknown states first
}

func heartbeatAge(ms int64) string {
	if ms < 0 {
		return "never"
	}
	return (time.Duration(ms) * time.Millisecond).Round(100 * time.Millisecond).String()
}

func (h *Handler) getDecommission(w http.ResponseWriter, r *http.Request, ss *session) {
	h.decommissionPage(w, r, ss, http.StatusOK, "")
}

func (h *Handler) decommissionPage(w http.ResponseWriter, r *http.Request, ss *session, status int, errMsg string) {
	id := r.PathValue("id")
	h.show(w, r, ss, status, "decommission", "Decommission "+id, errMsg, func(v view) any {
		for _, cs := range v.Status.ChunkServers {
			if string(cs.ID) == id {
				return &cs
			}
		}
		return nil
	})
}

type bucketsData struct {
	Rows  []bucketRow
	Query string
	Pager pager
	// Counted is how many buckets the leader has counted, and Oldest the
	// time of the oldest count among them.
	Counted int
	Oldest  time.Time
}

// bucketRow is one bucket of the page, with its policy and versioning in
// words.
type bucketRow struct {
	client.Bucket
	Policy     string
	Versioning string
}

func newBucketRow(b client.Bucket) bucketRow {
	row := bucketRow{Bucket: b, Policy: b.DataPolicy, Versioning: b.Versioning}
	if row.Policy == "" {
		row.Policy = "default replication"
		if b.Replication > 0 {
			row.Policy = fmt.Sprintf("rep-%d", b.Replication)
		}
	}
	if row.Versioning == "" {
		row.Versioning = "off"
	}
	if b.ObjectLock {
		row.Versioning += ", object lock"
	}
	return row
}

func (h *Handler) getBuckets(w http.ResponseWriter, r *http.Request, ss *session) {
	h.bucketsPage(w, r, ss, http.StatusOK, "")
}

func (h *Handler) bucketsPage(w http.ResponseWriter, r *http.Request, ss *session, status int, errMsg string) {
	h.show(w, r, ss, status, "buckets", "Buckets", errMsg, func(v view) any {
		d := bucketsData{Query: r.URL.Query().Get("q")}
		rows := v.Buckets
		if d.Query != "" {
			rows = nil
			for _, b := range v.Buckets {
				if strings.Contains(b.Name, d.Query) {
					rows = append(rows, b)
				}
			}
		}
		lo, hi := 0, 0
		d.Pager, lo, hi = paginate(r, len(rows), h.cfg.PageSize)
		d.Rows = make([]bucketRow, 0, hi-lo)
		for _, b := range rows[lo:hi] {
			d.Rows = append(d.Rows, newBucketRow(b))
		}
		for _, b := range v.Buckets {
			if u := b.Usage; u != nil {
				d.Counted++
				if d.Oldest.IsZero() || u.CountedAt.Before(d.Oldest) {
					d.Oldest = u.CountedAt
				}
			}
		}
		return d
	})
}

type accessData struct {
	Users  []client.User
	NewKey *client.AccessKey // shown once, right after its creation
}

func (h *Handler) getAccess(w http.ResponseWriter, r *http.Request, ss *session) {
	h.accessPage(w, r, ss, http.StatusOK, "", nil)
}

func (h *Handler) accessPage(w http.ResponseWriter, r *http.Request, ss *session, status int, errMsg string, k *client.AccessKey) {
	h.show(w, r, ss, status, "access", "Access", errMsg, func(v view) any {
		return accessData{Users: v.Users, NewKey: k}
	})
}

type gatewaysData struct {
	Rows []gatewayRow
	S3   s3Summary
}

func (h *Handler) getGateways(w http.ResponseWriter, r *http.Request, ss *session) {
	h.show(w, r, ss, http.StatusOK, "gateways", "S3 gateways", "", func(v view) any {
		return gatewaysData{Rows: v.Gateways, S3: summarizeS3(v)}
	})
}

func (h *Handler) getEvents(w http.ResponseWriter, r *http.Request, ss *session) {
	h.show(w, r, ss, http.StatusOK, "events", "Events", "", func(v view) any { return v.Events })
}

// pager is one page of a long table.
type pager struct {
	Page, Pages, Total, First, Last int
	Prev, Next                      string // links, empty at the ends
}

// paginate picks the rows [lo, hi) of the page the request asks for.
func paginate(r *http.Request, total, size int) (p pager, lo, hi int) {
	p.Total = total
	p.Pages = max(1, (total+size-1)/size)
	p.Page, _ = strconv.Atoi(r.URL.Query().Get("page"))
	p.Page = min(max(p.Page, 1), p.Pages)
	lo, hi = (p.Page-1)*size, min(p.Page*size, total)
	p.First, p.Last = lo+1, hi
	link := func(n int) string {
		q := url.Values{}
		for k, vs := range r.URL.Query() {
			if k != "page" && k != "fragment" {
				q[k] = vs
			}
		}
		q.Set("page", strconv.Itoa(n))
		return r.URL.Path + "?" + q.Encode()
	}
	if p.Page > 1 {
		p.Prev = link(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.Next = link(p.Page + 1)
	}
	return p, lo, hi
}
