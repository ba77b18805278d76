package chaos

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

// regInput is the input of one register operation.
type regInput struct {
	kind  Kind
	key   string
	value string // what a put writes
}

// registerModel is a map of independent registers (one per key), each
// holding the MD5 of the object's contents or "" when absent. Listing
// observations are reads. Partitioning by key lets porcupine check each
// key's history on its own.
var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(regInput).key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(regInput)
		switch in.kind {
		case KindPut:
			return true, in.value
		case KindDelete:
			return true, ""
		default: // get, list: the observation must match the register
			return output.(string) == state.(string), state
		}
	},
	DescribeOperation: func(input, output any) string {
		in := input.(regInput)
		switch in.kind {
		case KindPut:
			return fmt.Sprintf("put(%s)=%s", in.key, short(in.value))
		case KindDelete:
			return fmt.Sprintf("delete(%s)", in.key)
		}
		return fmt.Sprintf("%s(%s)->%s", in.kind, in.key, short(output.(string)))
	},
	DescribeState: func(state any) string { return short(state.(string)) },
}

func short(v string) string {
	if v == "" {
		return "absent"
	}
	if len(v) > 8 {
		return v[:8]
	}
	return v
}

// LinearizabilityResult is the verdict of CheckLinearizable.
type LinearizabilityResult struct {
	Result porcupine.CheckResult
	// Operations checked; failed writes kept as possibly applied; failed
	// writes dropped because nothing ever observed their value; failed
	// reads dropped (they observed nothing).
	Checked, Indefinite, DroppedWrites, DroppedReads int
	Keys                                             int
	Elapsed                                          time.Duration
	// Illegal names the keys whose histories are not linearizable.
	Illegal []string
	info    porcupine.LinearizationInfo
}

// CheckLinearizable checks that the per-key history of ops is linearizable
// as a register. An acknowledged operation took effect between its start
// and end. A write that failed or timed out may have taken effect at any
// time after its start or never: it is checked with an open end, which
// porcupine may place after everything (never applied). A failed put whose
// unique value no read ever observed is dropped instead, which is
// equivalent (nothing could tell it apart from a put that never happened)
// and keeps the search small.
func CheckLinearizable(ops []Op, timeout time.Duration) LinearizabilityResult {
	var res LinearizabilityResult
	observed := map[string]bool{}
	for _, op := range ops {
		if op.OK() && (op.Kind == KindGet || op.Kind == KindList) && op.Value != "" {
			observed[op.Key+"\x00"+op.Value] = true
		}
	}
	keys := map[string]bool{}
	history := make([]porcupine.Operation, 0, len(ops))
	for _, op := range ops {
		ret := int64(op.End)
		switch {
		case op.OK():
		case op.Kind == KindGet || op.Kind == KindList:
			res.DroppedReads++
			continue
		case op.Kind == KindPut && !observed[op.Key+"\x00"+op.Value]:
			res.DroppedWrites++
			continue
		default:
			ret = math.MaxInt64
			res.Indefinite++
		}
		keys[op.Key] = true
		history = append(history, porcupine.Operation{
			ClientId: op.Client,
			Input:    regInput{kind: op.Kind, key: op.Key, value: op.Value},
			Call:     int64(op.Start),
			Output:   op.Value,
			Return:   ret,
		})
	}
	res.Checked, res.Keys = len(history), len(keys)
	start := time.Now()
	res.Result, res.info = porcupine.CheckOperationsVerbose(registerModel, history, timeout)
	res.Elapsed = time.Since(start)
	if res.Result == porcupine.Illegal {
		for k := range keys {
			var one []porcupine.Operation
			for _, op := range history {
				if op.Input.(regInput).key == k {
					one = append(one, op)
				}
			}
			if porcupine.CheckOperationsTimeout(registerModel, one, timeout) == porcupine.Illegal {
				res.Illegal = append(res.Illegal, k)
			}
		}
		sort.Strings(res.Illegal)
	}
	return res
}

// Visualize writes porcupine's HTML view of the checked history to path.
func (r LinearizabilityResult) Visualize(path string) error {
	return porcupine.VisualizePath(registerModel, r.info, path)
}
