package repair

import (
	"cmp"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/granary-store/granary/internal/proto"
	"github.com/granary-store/granary/placement"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/*.txt")

// TestScenarios runs the scenario files in testdata, in the format of
// placement's: a command per line, its expected output indented by two
// spaces below it, # comments and blank lines kept. Run with -update to
// rewrite the expected output, then read the diff.
//
// Commands (the clock starts at 1000 s; one planner Inflight record lives
// through the file, as on a leader):
//
//	nodes N racks R               a new cluster: n1..nN on r1..rR, round robin, active and heard
//	drain|decommission|activate ID   set the membership
//	silence|hear ID               the heartbeat is late (dead-after passed) or fresh
//	chunk C [target T] [size B] on IDS [corrupt IDS]   a referenced chunk, its size and reported holders
//	report C on IDS [corrupt IDS] replace a chunk's reported holders (a copy landed, a replica went);
//	                              a holder that went loses its corrupt mark
//	gc C [on IDS]                 a chunk queued for deletion, due now
//	orphan C on IDS after S       an unreferenced chunk, collectable S seconds from now
//	limits perServer N perRound N deletes N [bytes B] [default B] [batch N] [batchBytes B]
//	                              (bytes: per server in flight; default: the size of a chunk of
//	                              unknown size; batch, batchBytes: the chunks and bytes of one
//	                              copy command, printed "copy c1,c2,c3 n1->n4")
//	backlog                       the last plan's queued bytes and the bytes in flight
//	tick S                        advance the clock S seconds
//	health                        every server's classification
//	status                        the status counters (repair.Count)
//	plan                          one planning round (Expire, then MakePlan)
//	stripe S rs-K-M on IDS [size B] [corrupt IDS]   an erasure-coded stripe: shard i is chunk
//	                              S*100+i, held by the i-th server of IDS ("-" for a lost shard);
//	                              report c<S*100+i> changes one shard's holders
//	stripes                       the stripe counters (repair.CountStripes)
//
// C is c7 or a range c1-c20; IDS is a comma-separated list.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) { runScenario(t, file) })
	}
}

type step struct {
	lead     []string
	line     int
	cmd      string
	expected []string
}

func parseScenario(t *testing.T, text string) (steps []step, tail []string) {
	var lead []string
	for i, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "  "):
			if len(steps) == 0 || len(lead) > 0 {
				t.Fatalf("line %d: output without a command", i+1)
			}
			steps[len(steps)-1].expected = append(steps[len(steps)-1].expected, line[2:])
		case line == "" || strings.HasPrefix(line, "#"):
			lead = append(lead, line)
		default:
			steps = append(steps, step{lead: lead, line: i + 1, cmd: line})
			lead = nil
		}
	}
	return steps, lead
}

func runScenario(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	steps, tail := parseScenario(t, string(data))
	sc := newScenario(t)
	var out strings.Builder
	for _, st := range steps {
		sc.where = fmt.Sprintf("%s:%d", file, st.line)
		got := sc.run(st.cmd)
		if !*update && !slices.Equal(got, st.expected) {
			t.Errorf("%s: %s\ngot:\n  %s\nwant:\n  %s", sc.where, st.cmd,
				strings.Join(got, "\n  "), strings.Join(st.expected, "\n  "))
		}
		for _, l := range st.lead {
			fmt.Fprintln(&out, l)
		}
		fmt.Fprintln(&out, st.cmd)
		for _, l := range got {
			fmt.Fprintln(&out, "  "+l)
		}
	}
	for _, l := range tail {
		fmt.Fprintln(&out, l)
	}
	if *update {
		if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// scenario is a cluster as the master's registry and liveness would give
// it, turned into planner input through Health, as the master does.
type scenario struct {
	t        *testing.T
	where    string
	now      time.Time
	ids      []string
	rack     map[string]string
	member   map[string]Membership
	heard    map[string]bool
	refs     map[proto.ChunkID]int
	holders  map[proto.ChunkID][]proto.NodeID
	corrupt  map[proto.ChunkID]map[proto.NodeID]bool
	gc       map[proto.ChunkID]bool
	orphanAt map[proto.ChunkID]time.Time
	sizes    map[proto.ChunkID]int64
	stripes  map[proto.ChunkID]Stripe
	inflight *Inflight
	limits   Limits
	last     Plan
}

func newScenario(t *testing.T) *scenario {
	return &scenario{t: t, now: time.Unix(1000, 0), rack: map[string]string{}, member: map[string]Membership{},
		heard: map[string]bool{}, refs: map[proto.ChunkID]int{}, holders: map[proto.ChunkID][]proto.NodeID{},
		corrupt: map[proto.ChunkID]map[proto.NodeID]bool{}, gc: map[proto.ChunkID]bool{}, orphanAt: map[proto.ChunkID]time.Time{},
		sizes: map[proto.ChunkID]int64{}, stripes: map[proto.ChunkID]Stripe{}, inflight: NewInflight(), limits: Limits{PerServer: 100, PerRound: 1000, Deletes: 1000, Timeout: time.Minute}}
}

func (sc *scenario) fatalf(format string, args ...any) {
	sc.t.Helper()
	sc.t.Fatalf("%s: "+format, append([]any{sc.where}, args...)...)
}

func (sc *scenario) servers() []placement.Server {
	var out []placement.Server
	for _, id := range sc.ids {
		out = append(out, placement.Server{ID: id, Rack: sc.rack[id], Capacity: 1 << 40,
			State: Health(sc.member[id], sc.heard[id])})
	}
	return out
}

func (sc *scenario) input() *Input {
	addrs := map[proto.NodeID]string{}
	for _, id := range sc.ids {
		addrs[proto.NodeID(id)] = id + ":7000"
	}
	return &Input{Now: sc.now, Refs: sc.refs, GC: sc.gc, Holders: sc.holders, Sizes: sc.sizes, Corrupt: sc.corrupt,
		Servers: sc.servers(), Addrs: addrs, OrphanAt: sc.orphanAt, Inflight: sc.inflight,
		Moving: map[proto.ChunkID]bool{}, Limits: sc.limits, Stripes: sc.stripes}
}

func (sc *scenario) run(line string) []string {
	f := strings.Fields(line)
	switch f[0] {
	case "nodes":
		n, racks := sc.atoi(arg(f, "nodes")), sc.atoi(arg(f, "racks"))
		*sc = *newScenario(sc.t) // a new cluster: chunks, clock and commands too
		for i := 1; i <= n; i++ {
			id := fmt.Sprintf("n%d", i)
			sc.ids = append(sc.ids, id)
			sc.rack[id], sc.member[id], sc.heard[id] = fmt.Sprintf("r%d", (i-1)%racks+1), Active, true
		}
	case "drain", "decommission", "activate":
		sc.node(f[1])
		sc.member[f[1]] = map[string]Membership{"drain": Draining, "decommission": Decommissioned, "activate": Active}[f[0]]
	case "silence", "hear":
		sc.node(f[1])
		sc.heard[f[1]] = f[0] == "hear"
	case "chunk":
		target := 3
		if v := arg(f, "target"); v != "" {
			target = sc.atoi(v)
		}
		for _, c := range sc.chunks(f[1]) {
			sc.refs[c] = target
			if v := arg(f, "size"); v != "" {
				sc.sizes[c] = int64(sc.atoi(v))
			}
			sc.holders[c] = sc.list(arg(f, "on"))
			delete(sc.corrupt, c)
			for _, id := range sc.list(arg(f, "corrupt")) {
				if sc.corrupt[c] == nil {
					sc.corrupt[c] = map[proto.NodeID]bool{}
				}
				sc.corrupt[c][id] = true
			}
		}
	case "report":
		for _, c := range sc.chunks(f[1]) {
			sc.holders[c] = sc.list(arg(f, "on"))
			for id := range sc.corrupt[c] { // a replica gone takes its mark along, as on the leader
				if !slices.Contains(sc.holders[c], id) {
					delete(sc.corrupt[c], id)
				}
			}
			for _, id := range sc.list(arg(f, "corrupt")) {
				if sc.corrupt[c] == nil {
					sc.corrupt[c] = map[proto.NodeID]bool{}
				}
				sc.corrupt[c][id] = true
			}
		}
	case "gc":
		for _, c := range sc.chunks(f[1]) {
			delete(sc.refs, c)
			sc.gc[c] = true
			sc.holders[c] = sc.list(arg(f, "on"))
		}
	case "orphan":
		for _, c := range sc.chunks(f[1]) {
			delete(sc.refs, c)
			sc.holders[c] = sc.list(arg(f, "on"))
			sc.orphanAt[c] = sc.now.Add(time.Duration(sc.atoi(arg(f, "after"))) * time.Second)
		}
	case "limits":
		if v := arg(f, "perServer"); v != "" {
			sc.limits.PerServer = sc.atoi(v)
		}
		if v := arg(f, "perRound"); v != "" {
			sc.limits.PerRound = sc.atoi(v)
		}
		if v := arg(f, "deletes"); v != "" {
			sc.limits.Deletes = sc.atoi(v)
		}
		if v := arg(f, "bytes"); v != "" {
			sc.limits.PerServerBytes = int64(sc.atoi(v))
		}
		if v := arg(f, "default"); v != "" {
			sc.limits.DefaultSize = int64(sc.atoi(v))
		}
		if v := arg(f, "batch"); v != "" {
			sc.limits.Batch = sc.atoi(v)
		}
		if v := arg(f, "batchBytes"); v != "" {
			sc.limits.BatchBytes = int64(sc.atoi(v))
		}
	case "tick":
		sc.now = sc.now.Add(time.Duration(sc.atoi(f[1])) * time.Second)
	case "health":
		var out []string
		for _, sv := range sc.servers() {
			out = append(out, fmt.Sprintf("%s %s %v", sv.ID, sv.Rack, sv.State))
		}
		return out
	case "status":
		c := Count(sc.refs, sc.holders, sc.corrupt, sc.servers())
		return []string{fmt.Sprintf("total %d missing %d under %d (last copy %d) over %d", c.Total, c.Missing, c.UnderReplicated, c.LastCopy, c.OverReplicated)}
	case "plan":
		in := sc.input()
		done := sc.inflight.Expire(in)
		sc.last = MakePlan(in)
		out := describePlan(sc.last, done)
		if len(sc.stripes) > 0 {
			out = append(out, describeStripes(sc.last)...)
		}
		return out
	case "stripe":
		sc.stripe(f)
	case "stripes":
		c := CountStripes(sc.stripes, sc.holders, sc.corrupt, sc.servers())
		return []string{fmt.Sprintf("stripes %d degraded %d (last shard %d) missing %d corrupt %d", c.Total, c.Degraded, c.LastShard, c.Missing, c.Corrupt)}
	case "backlog":
		return []string{fmt.Sprintf("queued %d bytes, in flight %d bytes", sc.last.QueuedBytes, sc.inflight.Bytes())}
	default:
		sc.fatalf("unknown command %q", f[0])
	}
	return nil
}

// describePlan prints a plan one line per command, by chunk, then its
// totals.
func describePlan(p Plan, confirmed int) []string {
	type line struct {
		chunk proto.ChunkID
		text  string
	}
	var lines []line
	for server, cmds := range p.Commands {
		for _, c := range cmds {
			switch c.Op {
			case proto.CmdCopy:
				ids := chunkList(append([]proto.ChunkID{c.Chunk}, c.More...))
				lines = append(lines, line{c.Chunk, fmt.Sprintf("copy %s %s->%s", ids, c.Source.ID, server)})
			case proto.CmdDelete:
				lines = append(lines, line{c.Chunk, fmt.Sprintf("delete c%d on %s", c.Chunk, server)})
			default:
				lines = append(lines, line{c.Chunk, fmt.Sprintf("%v c%d on %s", c.Op, c.Chunk, server)})
			}
		}
	}
	slices.SortFunc(lines, func(a, b line) int { return cmp.Or(cmp.Compare(a.chunk, b.chunk), cmp.Compare(a.text, b.text)) })
	var out []string
	for _, l := range lines {
		out = append(out, l.text)
	}
	for _, list := range []struct {
		name string
		ids  []proto.ChunkID
	}{{"missing", p.Missing}, {"gc done", p.GCDone}, {"collect", p.Collect}} {
		if len(list.ids) > 0 {
			out = append(out, fmt.Sprintf("%s %s", list.name, chunkList(list.ids)))
		}
	}
	out = append(out, fmt.Sprintf("copies %d deletes %d queued %d confirmed %d", p.Copies, p.Deletes, p.Queued, confirmed))
	return out
}

func chunkList(ids []proto.ChunkID) string {
	var s []string
	for _, id := range ids {
		s = append(s, fmt.Sprintf("c%d", id))
	}
	return strings.Join(s, ",")
}

// arg returns the word after name in f, or "".
func arg(f []string, name string) string {
	if i := slices.Index(f, name); i >= 0 && i+1 < len(f) {
		return f[i+1]
	}
	return ""
}

func (sc *scenario) atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		sc.fatalf("number %q: %v", s, err)
	}
	return n
}

func (sc *scenario) node(id string) {
	if !slices.Contains(sc.ids, id) {
		sc.fatalf("unknown server %s", id)
	}
}

func (sc *scenario) list(s string) []proto.NodeID {
	if s == "" || s == "-" {
		return nil
	}
	var ids []proto.NodeID
	for _, id := range strings.Split(s, ",") {
		sc.node(id)
		ids = append(ids, proto.NodeID(id))
	}
	slices.Sort(ids)
	return ids
}

func (sc *scenario) chunks(s string) []proto.ChunkID {
	s = strings.TrimPrefix(s, "c")
	lo, hi, isRange := strings.Cut(s, "-c")
	a, err := strconv.ParseUint(lo, 10, 64)
	if err != nil {
		sc.fatalf("chunk %q", s)
	}
	b := a
	if isRange {
		if b, err = strconv.ParseUint(hi, 10, 64); err != nil || b < a {
			sc.fatalf("chunk range %q", s)
		}
	}
	var out []proto.ChunkID
	for c := a; c <= b; c++ {
		out = append(out, proto.ChunkID(c))
	}
	return out
}
