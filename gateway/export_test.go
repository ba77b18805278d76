package gateway

import (
	"net/http"
	"sort"
)

// Op describes one line of the dispatch table for the external tests.
type Op struct {
	Name, Method, Target, Sub, Action string
	Implemented                       bool
}

// Ops returns the dispatch table.
func Ops() []Op {
	out := make([]Op, 0, len(ops))
	for _, o := range ops {
		out = append(out, Op{o.name, o.method, o.target.String(), o.sub, o.action, o.serve != nil})
	}
	return out
}

// Subresources returns the query keys the dispatcher treats as
// subresources, sorted.
func Subresources() []string {
	var out []string
	for k := range subresources {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Classify reports the operation a request for the target ("SERVICE",
// "BUCKET" or "OBJECT") would run; ok is false when it is refused.
func Classify(r *http.Request, tgt string) (name string, ok bool) {
	t := map[string]target{"SERVICE": onService, "BUCKET": onBucket, "OBJECT": onObject}[tgt]
	o, err := classify(r, t)
	if err != nil {
		return "", false
	}
	return o.name, true
}
