package placement

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const gib = int64(1) << 30

// scenario is the cluster a scenario file builds up.
type scenario struct {
	t       *testing.T
	opt     Options
	servers []Server
	chunks  map[uint64]*ChunkInfo
	at      int // line of the command being run, for messages
}

// args is a command line split into words, with key-value options.
type args []string

// opt returns the word after key, or def.
func (a args) opt(key, def string) string {
	if i := slices.Index(a, key); i >= 0 && i+1 < len(a) {
		return a[i+1]
	}
	return def
}

func (sc *scenario) fatalf(format string, v ...any) {
	sc.t.Helper()
	sc.t.Fatalf("line %d: "+format, append([]any{sc.at}, v...)...)
}

func (sc *scenario) run(st step) []string {
	sc.at = st.line
	a := args(strings.Fields(st.cmd))
	cmds := map[string]func(args) []string{
		"nodes": sc.nodes, "node": sc.node, "remove": sc.remove,
		"fail": sc.state(Dead), "drain": sc.state(Draining), "decommission": sc.state(Decommissioned), "revive": sc.state(Alive),
		"choose": sc.choose, "spread": sc.spread, "place": sc.place, "chunk": sc.chunk,
		"source": sc.source, "trim": sc.trim, "balance": sc.balance, "usage": sc.usage,
		"stripe": sc.stripe, "shards": sc.shards,
	}
	f, ok := cmds[a[0]]
	if !ok {
		sc.fatalf("unknown command %q", a[0])
	}
	return f(a[1:])
}

func (sc *scenario) num(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		sc.fatalf("bad number %q", s)
	}
	return n
}

func (sc *scenario) float(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		sc.fatalf("bad number %q", s)
	}
	return f
}

// chunkRange parses c7 or c1-c20.
func (sc *scenario) chunkRange(s string) []uint64 {
	lo, hi, isRange := strings.Cut(s, "-")
	first := uint64(sc.num(strings.TrimPrefix(lo, "c")))
	last := first
	if isRange {
		last = uint64(sc.num(strings.TrimPrefix(hi, "c")))
	}
	var out []uint64
	for c := first; c <= last; c++ {
		out = append(out, c)
	}
	return out
}

func ids(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func (sc *scenario) find(id string) *Server {
	for i := range sc.servers {
		if sc.servers[i].ID == id {
			return &sc.servers[i]
		}
	}
	sc.fatalf("no server %q", id)
	return nil
}

func (sc *scenario) nodes(a args) []string {
	n, racks, capacity := sc.num(a[0]), sc.num(a.opt("racks", "1")), sc.num(a.opt("cap", "100"))
	sc.servers, sc.chunks = nil, map[uint64]*ChunkInfo{}
	for i := range n {
		sc.servers = append(sc.servers, Server{ID: fmt.Sprintf("n%d", i+1), Rack: fmt.Sprintf("r%d", i%racks+1), Capacity: capacity * gib})
	}
	return nil
}

func (sc *scenario) node(a args) []string {
	if !slices.ContainsFunc(sc.servers, func(s Server) bool { return s.ID == a[0] }) {
		sc.servers = append(sc.servers, Server{ID: a[0], Capacity: 100 * gib})
	}
	s := sc.find(a[0])
	s.Rack = a.opt("rack", s.Rack)
	s.Capacity = sc.num(a.opt("cap", fmt.Sprint(s.Capacity/gib))) * gib
	s.Used = sc.num(a.opt("used", fmt.Sprint(s.Used/gib))) * gib
	s.Load = sc.float(a.opt("load", fmt.Sprint(s.Load)))
	return nil
}

func (sc *scenario) remove(a args) []string {
	sc.find(a[0])
	sc.servers = slices.DeleteFunc(sc.servers, func(s Server) bool { return s.ID == a[0] })
	return nil
}

func (sc *scenario) state(st State) func(args) []string {
	return func(a args) []string {
		sc.find(a[0]).State = st
		return nil
	}
}

// request builds the Choose request of a choose, spread or place command.
func (sc *scenario) request(chunk uint64, a args) Request {
	return Request{Chunk: chunk, Count: int(sc.num(a[1])), Size: sc.num(a.opt("size", "0")) * gib,
		Exclude: ids(a.opt("exclude", "")), Holders: ids(a.opt("holders", ""))}
}

// choose runs Choose and checks the answer against the rules.
func (sc *scenario) checkedChoose(req Request) ([]string, error) {
	got, err := Choose(sc.servers, req, sc.opt)
	if cerr := checkPlacement(sc.servers, req, sc.opt, got, err); cerr != nil {
		sc.fatalf("rule broken: %v", cerr)
	}
	return got, err
}

func (sc *scenario) choose(a args) []string {
	var out []string
	for _, c := range sc.chunkRange(a[0]) {
		got, err := sc.checkedChoose(sc.request(c, a))
		if err != nil {
			out = append(out, fmt.Sprintf("c%d: error: %v", c, err))
			continue
		}
		out = append(out, fmt.Sprintf("c%d: %s", c, strings.Join(got, " ")))
	}
	return out
}

func (sc *scenario) spread(a args) []string {
	counts := map[string]int{}
	for _, c := range sc.chunkRange(a[0]) {
		got, err := sc.checkedChoose(sc.request(c, a))
		if err != nil {
			return []string{fmt.Sprintf("c%d: error: %v", c, err)}
		}
		for _, id := range got {
			counts[id]++
		}
	}
	var out []string
	for _, s := range sc.servers {
		out = append(out, fmt.Sprintf("%s %s %s: %d", s.ID, s.Rack, s.State, counts[s.ID]))
	}
	return out
}

func (sc *scenario) place(a args) []string {
	for _, c := range sc.chunkRange(a[0]) {
		req := sc.request(c, a)
		got, err := sc.checkedChoose(req)
		if err != nil {
			return []string{fmt.Sprintf("c%d: error: %v", c, err)}
		}
		sc.record(c, req.Size, got)
	}
	return nil
}

// record adds a chunk and the usage of its replicas.
func (sc *scenario) record(c uint64, size int64, holders []string) {
	if _, ok := sc.chunks[c]; ok {
		sc.fatalf("chunk c%d recorded twice", c)
	}
	sc.chunks[c] = &ChunkInfo{ID: c, Size: size, Holders: holders}
	for _, id := range holders {
		sc.find(id).Used += size
	}
}

func (sc *scenario) chunk(a args) []string {
	sc.record(sc.chunkRange(a[0])[0], sc.num(a.opt("size", "1"))*gib, ids(a.opt("on", "")))
	return nil
}

func (sc *scenario) source(a args) []string {
	var out []string
	for _, c := range sc.chunkRange(a[0]) {
		got, err := ChooseSource(sc.servers, ids(a[1]), c)
		if err != nil {
			out = append(out, fmt.Sprintf("c%d: error: %v", c, err))
			continue
		}
		out = append(out, fmt.Sprintf("c%d: copy from %s", c, got))
	}
	return out
}

func (sc *scenario) trim(a args) []string {
	got, err := ChooseTrim(sc.servers, ids(a[2]), int(sc.num(a[1])), sc.chunkRange(a[0])[0])
	switch {
	case err != nil:
		return []string{"error: " + err.Error()}
	case len(got) == 0:
		return []string{"drop nothing"}
	}
	return []string{"drop " + strings.Join(got, " ")}
}

func (sc *scenario) balance(a args) []string {
	var chunks []ChunkInfo
	for _, k := range slices.Sorted(maps.Keys(sc.chunks)) {
		chunks = append(chunks, *sc.chunks[k])
	}
	moves := PlanBalance(sc.servers, chunks, sc.float(a[0]), int(sc.num(a.opt("max", "1000"))))
	if _, err := applyMoves(sc.servers, chunks, moves); err != nil {
		sc.fatalf("rule broken: %v", err)
	}
	out := []string{fmt.Sprintf("%d moves", len(moves))}
	for _, m := range moves {
		ch := sc.chunks[m.Chunk]
		ch.Holders = slices.Clone(ch.Holders)
		ch.Holders[slices.Index(ch.Holders, m.From)] = m.To
		sc.find(m.From).Used -= ch.Size
		sc.find(m.To).Used += ch.Size
		out = append(out, fmt.Sprintf("move c%d %s -> %s (%d GiB)", m.Chunk, m.From, m.To, ch.Size/gib))
	}
	return out
}

func (sc *scenario) usage(args) []string {
	var out []string
	for _, s := range sc.servers {
		pct := 0.0
		if s.Capacity > 0 {
			pct = 100 * float64(s.Used) / float64(s.Capacity)
		}
		out = append(out, fmt.Sprintf("%s %s %s: %d/%d GiB (%.0f%%)", s.ID, s.Rack, s.State, s.Used/gib, s.Capacity/gib, pct))
	}
	return out
}
