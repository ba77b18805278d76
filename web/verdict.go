package web

import (
	"fmt"
	"time"
)

// Verdict levels, also the CSS classes of their colours.
const (
	levelOK      = "ok"      // healthy
	levelWarn    = "warn"    // degraded
	levelRisk    = "risk"    // at risk
	levelBad     = "bad"     // data missing
	levelUnknown = "unknown" // the cluster cannot be read
)

// verdict is the overview's one line: a level, its word and why.
type verdict struct {
	Level   string
	Word    string
	Reasons []string
}

// serverCounts counts chunk servers by state.
type serverCounts struct {
	Alive, Dead, Draining, Decommissioned, Other int
}

func countServers(v view) serverCounts {
	var c serverCounts
	for _, cs := range v.Status.ChunkServers {
		switch cs.State {
		case "alive":
			c.Alive++
		case "dead":
			c.Dead++
		case "draining":
			c.Draining++
		case "decommissioned":
			c.Decommissioned++
		default:
			c.Other++
		}
	}
	return c
}

// judge answers "is my data safe right now?". Data missing wins over at
// risk, at risk over degraded; dead servers alone (their chunks already
// copied elsewhere, or none) leave the data healthy, with a reason line. Without a histogram of replica counts (the
// master does not expose one yet) "at risk" is inferred: chunks are
// under-replicated while two or more servers are down, or one is left.
func judge(v view) verdict {
	if v.Empty {
		return verdict{Level: levelUnknown, Word: "unknown", Reasons: []string{"cannot read the cluster: " + v.Err.Error()}}
	}
	st, ch, sc := v.Status, v.Status.Chunks, countServers(v)
	var out verdict
	add := func(level, format string, a ...any) {
		if rank(level) > rank(out.Level) {
			out.Level = level
		}
		out.Reasons = append(out.Reasons, fmt.Sprintf(format, a...))
	}
	if v.Err != nil {
		add(levelUnknown, "cannot read the cluster (%v); showing data from %s", v.Err, v.StaleSince.UTC().Format(time.TimeOnly))
	}
	if st.Leader == "" {
		add(levelWarn, "the master group has no leader")
	}
	if ch.Missing > 0 {
		add(levelBad, "%d chunks have no live replica", ch.Missing)
	}
	if ch.UnderReplicated > 0 {
		level := levelWarn
		if sc.Dead >= 2 || sc.Alive <= 1 {
			level = levelRisk
		}
		add(level, "%d chunks under-replicated", ch.UnderReplicated)
	}
	if ch.Degraded > 0 {
		add(levelWarn, "%d erasure-coded stripes degraded (readable, shards being rebuilt)", ch.Degraded)
	}
	if ch.Corrupt > 0 {
		add(levelWarn, "%d corrupt replicas waiting for replacement", ch.Corrupt)
	}
	if sc.Dead > 0 {
		// A dead server is a risk to data only through the chunks it held,
		// which the counters above already count as under-replicated.
		add(levelOK, "%d of %d chunk servers dead", sc.Dead, len(st.ChunkServers)-sc.Decommissioned)
	}
	if sc.Draining > 0 {
		add(levelOK, "%d chunk servers draining", sc.Draining)
	}
	if st.SafeMode {
		add(levelWarn, "safe mode (no repair or deletion yet): %s", orNone(st.Repair.SafeModeReason))
	}
	if len(st.ChunkServers) == 0 {
		add(levelWarn, "no chunk server registered")
	}
	if out.Level == "" {
		out.Level = levelOK
	}
	out.Word = map[string]string{levelOK: "healthy", levelWarn: "degraded", levelRisk: "at risk", levelBad: "data missing", levelUnknown: "unknown"}[out.Level]
	if len(out.Reasons) == 0 {
		out.Reasons = []string{"every chunk has all its replicas"}
	}
	return out
}

func rank(level string) int {
	switch level {
	case levelOK:
		return 1
	case levelWarn:
		return 2
	case levelRisk:
		return 3
	case levelBad:
		return 4
	case levelUnknown:
		return 5
	}
	return 0
}
