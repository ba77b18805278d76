package placement

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// six returns n1..n6 on racks r1..r3 (n1,n4 on r1; n2,n5 on r2; n3,n6 on
// r3), 100 GiB each, empty and alive.
func six() []Server {
	var out []Server
	for i, id := range []string{"n1", "n2", "n3", "n4", "n5", "n6"} {
		out = append(out, Server{ID: id, Rack: []string{"r1", "r2", "r3"}[i%3], Capacity: 100 << 30})
	}
	return out
}

// with returns a copy of servers with f applied to the named server.
func with(servers []Server, id string, f func(*Server)) []Server {
	c := slices.Clone(servers)
	for i := range c {
		if c[i].ID == id {
			f(&c[i])
		}
	}
	return c
}

func dead(s *Server)       { s.State = Dead }
func full(s *Server)       { s.Used = s.Capacity }
func nearlyFull(s *Server) { s.Used = s.Capacity * 94 / 100 }

func TestChooseEdgeCases(t *testing.T) {
	opt := DefaultOptions()
	tests := []struct {
		name    string
		servers []Server
		req     Request
		opt     *Options
		err     error
		msg     string // substring of the error message
	}{
		{"no servers", nil, Request{Chunk: 1, Count: 3}, nil, ErrNotEnoughServers, "need 3 servers, 0 eligible (no servers)"},
		{"count zero", six(), Request{Chunk: 1, Count: 0}, nil, ErrInvalidRequest, "count 0"},
		{"count negative", six(), Request{Chunk: 1, Count: -2}, nil, ErrInvalidRequest, "count -2"},
		{"negative size", six(), Request{Chunk: 1, Count: 1, Size: -1}, nil, ErrInvalidRequest, "negative size"},
		{"count above cluster", six(), Request{Chunk: 1, Count: 7}, nil, ErrNotEnoughServers, "need 7 servers, 6 eligible"},
		{"duplicate id", append(six(), Server{ID: "n3", Capacity: 1}), Request{Chunk: 1, Count: 1}, nil, ErrDuplicateID, `"n3"`},
		{"empty id", append(six(), Server{Capacity: 1}), Request{Chunk: 1, Count: 1}, nil, ErrInvalidServer, "empty id"},
		{"negative capacity", with(six(), "n2", func(s *Server) { s.Capacity = -1 }), Request{Count: 1}, nil, ErrInvalidServer, "negative capacity"},
		{"negative used", with(six(), "n2", func(s *Server) { s.Used = -1 }), Request{Count: 1}, nil, ErrInvalidServer, "negative used"},
		{"unknown state", with(six(), "n2", func(s *Server) { s.State = 9 }), Request{Count: 1}, nil, ErrInvalidServer, "State(9)"},
		{"all zero capacity", []Server{{ID: "a"}, {ID: "b"}}, Request{Chunk: 5, Count: 1}, nil, ErrNoSpace, "need 1 servers, 0 eligible (2 zero capacity)"},
		{"dead and full", with(with(six()[:4], "n1", dead), "n2", full), Request{Chunk: 9, Count: 3}, nil, ErrNoSpace, "need 3 servers, 2 eligible (1 dead, 1 full)"},
		{"two dead and full", with(with(with(six()[:4], "n1", dead), "n2", full), "n3", dead), Request{Chunk: 9, Count: 3}, nil, ErrNotEnoughServers, "need 3 servers, 1 eligible (2 dead, 1 full)"},
		{"full only", with(with(six()[:4], "n1", full), "n2", full), Request{Chunk: 9, Count: 3}, nil, ErrNoSpace, "(2 full)"},
		{"no room for size", with(with(six()[:3], "n1", nearlyFull), "n2", nearlyFull), Request{Count: 2, Size: 2 << 30}, nil, ErrNoSpace, "2 no room for 2147483648 bytes"},
		{"excluded and holders", six(), Request{Count: 3, Exclude: []string{"n1", "n2"}, Holders: []string{"n3", "n4"}}, nil, ErrNotEnoughServers, "(2 holder, 2 excluded)"},
		{"draining decommissioned", with(with(six(), "n1", func(s *Server) { s.State = Draining }), "n2", func(s *Server) { s.State = Decommissioned }), Request{Count: 5}, nil, ErrNotEnoughServers, "1 draining, 1 decommissioned"},
		{"bad threshold", six(), Request{Count: 1}, &Options{FullThreshold: 0}, ErrInvalidOptions, "full threshold 0"},
		{"bad load bias", six(), Request{Count: 1}, &Options{FullThreshold: 0.9, LoadBias: 1}, ErrInvalidOptions, "load bias 1"},
		{"ok", six(), Request{Chunk: 1, Count: 3}, nil, nil, ""},
		{"ok count equals cluster", six(), Request{Chunk: 1, Count: 6}, nil, nil, ""},
		{"unknown exclude ignored", six(), Request{Chunk: 1, Count: 6, Exclude: []string{"zz"}, Holders: []string{"yy"}}, nil, nil, ""},
		{"size exactly at threshold", []Server{{ID: "a", Capacity: 100}}, Request{Count: 1, Size: 95}, nil, nil, ""},
		{"size one over threshold", []Server{{ID: "a", Capacity: 100}}, Request{Count: 1, Size: 96}, nil, ErrNoSpace, "1 no room for 96 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opt
			if tt.opt != nil {
				o = *tt.opt
			}
			got, err := Choose(tt.servers, tt.req, o)
			if !errors.Is(err, tt.err) || err != nil && !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Choose = %v, %v; want error %v containing %q", got, err, tt.err, tt.msg)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "placement: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if tt.err == nil {
				if cerr := checkPlacement(tt.servers, tt.req, o, got, err); cerr != nil {
					t.Fatal(cerr)
				}
			}
		})
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{Alive: "alive", Draining: "draining", Dead: "dead", Decommissioned: "decommissioned", 7: "State(7)", -1: "State(-1)"} {
		if got := s.String(); got != want {
			t.Errorf("State(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestChooseSource(t *testing.T) {
	servers := with(with(with(six(), "n1", dead), "n2", func(s *Server) { s.State = Draining }),
		"n3", func(s *Server) { s.Load = 0.5 })
	servers = with(servers, "n4", func(s *Server) { s.Load = 0.2 })
	servers = with(servers, "n5", func(s *Server) { s.State = Decommissioned })
	tests := []struct {
		name    string
		holders []string
		want    string
		err     error
		msg     string
	}{
		{"least loaded alive", []string{"n1", "n2", "n3", "n4"}, "n4", nil, ""},
		{"alive before draining", []string{"n2", "n3"}, "n3", nil, ""},
		{"draining if nothing else", []string{"n1", "n2", "n5"}, "n2", nil, ""},
		{"none usable", []string{"n1", "n5", "gone"}, "", ErrNoSource, "3 holders, none usable (1 dead, 1 decommissioned, 1 unknown)"},
		{"no holders", nil, "", ErrInvalidRequest, "no holders"},
		{"duplicate holder", []string{"n3", "n3"}, "", ErrDuplicateID, `"n3" listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ChooseSource(servers, tt.holders, 42)
			if got != tt.want || !errors.Is(err, tt.err) || err != nil && !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("ChooseSource = %q, %v; want %q, %v (%q)", got, err, tt.want, tt.err, tt.msg)
			}
		})
	}
	if _, err := ChooseSource(append(six(), six()[0]), []string{"n1"}, 1); !errors.Is(err, ErrDuplicateID) {
		t.Errorf("duplicate server: err = %v", err)
	}
}

// TestChooseSourceSpreads checks that equally loaded holders share the
// repair reads.
func TestChooseSourceSpreads(t *testing.T) {
	r, err := NewRing(six(), DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for c := range uint64(3000) {
		s, err := r.ChooseSource([]string{"n1", "n2", "n3"}, c)
		if err != nil {
			t.Fatal(err)
		}
		counts[s]++
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		if counts[id] < 900 || counts[id] > 1100 {
			t.Errorf("source counts %v: want about 1000 each", counts)
		}
	}
}

func TestChooseTrim(t *testing.T) {
	servers := []Server{
		{ID: "a1", Rack: "a", Capacity: 100, Used: 50},
		{ID: "a2", Rack: "a", Capacity: 100, Used: 80},
		{ID: "a3", Rack: "a", Capacity: 100, Used: 10},
		{ID: "b1", Rack: "b", Capacity: 100, Used: 90},
		{ID: "b2", Rack: "b", Capacity: 100, Used: 20, State: Draining},
		{ID: "c1", Rack: "c", Capacity: 100, Used: 99},
		{ID: "c2", Rack: "c", Capacity: 100, Used: 50, State: Dead},
		{ID: "d1", Rack: "d", Capacity: 100, State: Decommissioned},
	}
	tests := []struct {
		name    string
		holders []string
		keep    int
		want    []string
		err     error
	}{
		{"crowded rack, fullest first", []string{"a1", "a2", "a3", "b1"}, 2, []string{"a2", "a1"}, nil},
		{"dead and decommissioned first", []string{"a1", "c2", "b1", "d1"}, 2, []string{"c2", "d1"}, nil},
		{"unknown first", []string{"a1", "gone", "b1"}, 2, []string{"gone"}, nil},
		{"spread beats draining", []string{"a1", "a2", "b2"}, 2, []string{"a2"}, nil},
		{"draining on a tie", []string{"a1", "b2", "c1"}, 2, []string{"b2"}, nil},
		{"nothing to trim", []string{"a1", "b1"}, 2, nil, nil},
		{"down to one", []string{"a1", "b1", "c1"}, 1, []string{"c1", "b1"}, nil},
		{"keep zero", []string{"a1"}, 0, nil, ErrInvalidRequest},
		{"duplicate", []string{"a1", "a1", "b1"}, 1, nil, ErrDuplicateID},
		{"empty", nil, 1, nil, ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ChooseTrim(servers, tt.holders, tt.keep, 7)
			if !slices.Equal(got, tt.want) || !errors.Is(err, tt.err) {
				t.Fatalf("ChooseTrim = %v, %v; want %v, %v", got, err, tt.want, tt.err)
			}
			got2, _ := ChooseTrim(servers, reversed(tt.holders), tt.keep, 7)
			if !slices.Equal(got, got2) {
				t.Errorf("holder order matters: %v vs %v", got, got2)
			}
		})
	}
}

func reversed[T any](xs []T) []T {
	c := slices.Clone(xs)
	slices.Reverse(c)
	return c
}
