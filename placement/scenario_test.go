package placement

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/*.txt")

// TestScenarios runs the scenario files in testdata. A file is a list of
// commands, one per line; the lines indented by two spaces after a command
// are its expected output. Lines starting with # and blank lines are
// comments. Run with -update to rewrite the expected output; then read the
// diff. Every command also checks the placement rules itself, so a golden
// file cannot bless a broken answer.
//
// Commands (sizes in GiB):
//
//	nodes N racks R [cap C]       replace the cluster: n1..nN on r1..rR, round robin
//	node ID rack R [cap C] [used U] [load L]   add or change one server
//	fail|drain|decommission|revive ID          set the state (revive: alive)
//	remove ID                     drop a server from the list
//	choose CHUNKS COUNT [size S] [exclude IDS] [holders IDS]
//	spread CHUNKS COUNT           replicas per server over many chunks
//	place CHUNKS COUNT size S     choose, then record the chunks and usage
//	chunk C size S on IDS         record a chunk and add its usage
//	source CHUNKS IDS             which holder to copy from
//	trim C KEEP IDS               which replicas to drop
//	balance THRESHOLD [max N]     plan moves, print and apply them
//	stripe CHUNKS K M [size S] [exclude IDS]   servers of new rs-K-M stripes, shard order
//	shards CHUNKS COUNT holders IDS [size S] [exclude IDS]  new homes for shards of a stripe
//	usage                         print every server's usage
//
// CHUNKS is c7 or a range c1-c20; IDS is a comma-separated list.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) { runScenario(t, file) })
	}
}

// step is one command with the lines before it and its expected output.
type step struct {
	lead     []string // comments and blank lines before the command
	line     int      // line number of the command
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
	sc := &scenario{t: t, opt: DefaultOptions(), chunks: map[uint64]*ChunkInfo{}}
	var out strings.Builder
	for _, st := range steps {
		got := sc.run(st)
		if !*update && !slices.Equal(got, st.expected) {
			t.Errorf("%s:%d: %s\ngot:\n  %s\nwant:\n  %s", file, st.line, st.cmd,
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
